#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to aihost.hardening
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: gpu_facts
short_description: Report GPUs, accelerators, their drivers, device nodes and the NVIDIA container stack
version_added: "0.1.0"
description:
  - Reads C(/sys/bus/pci/devices) for GPUs (PCI base class 0x03) and accelerators (class 0x12, or any
    device with an C(accel) node) from NVIDIA, AMD, Intel, Habana and others, with the bound kernel
    driver and its version.
  - Reads the NVIDIA driver version and flavour (open or proprietary kernel module) from
    C(/proc/driver/nvidia/version), falling back to C(/sys/module/nvidia/version) and the module taint.
  - Lists the GPU device nodes (C(/dev/nvidia*), C(/dev/nvidia-caps/*), C(/dev/kfd), C(/dev/dri/*),
    C(/dev/accel/*)) with major/minor, owner, group and mode, and flags world-writable ones.
  - Reports the CUDA toolkit(s) under C(/usr/local/cuda*), ROCm under C(/opt/rocm*), whether the NVIDIA
    user space (C(nvidia-smi), C(libnvidia-ml)) is installed, and the NVIDIA Container Toolkit
    (binaries, version, C(config.toml), Docker C(daemon.json) runtimes and CDI specs).
  - Tells apart an NVIDIA host that is C(ready), one with C(userspace_only) (driver user space installed
    but no kernel module loaded), C(kernel_module_only), and C(absent).
  - On a CPU-only host it says so in O(ignore:ansible_facts.aihost_gpu.summary) and fails nothing.
  - C(nvidia-smi) and C(nvidia-ctk) are only extra sources. C(nvidia-smi) runs only when the C(nvidia)
    kernel module is loaded and C(/dev/nvidiactl) exists, because NVML otherwise creates device nodes
    (and may call C(nvidia-modprobe) to load the module), and a facts module must not change the host.
  - Unreadable files, garbage in version files, a broken C(daemon.json) or CDI spec are skipped with a
    warning; they never fail the module.
  - Uses only the Python standard library on the target. Root is not needed; an unprivileged user may
    get warnings for files it cannot read.
author:
  - aihost.hardening maintainers (@aihost)
options:
  nvidia_smi:
    description:
      - How to use C(nvidia-smi) as an extra source when it is installed and the C(nvidia) kernel
        module is loaded.
      - V(query) runs C(nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,driver_version,memory.total
        --format=csv,noheader,nounits).
      - V(xml) runs C(nvidia-smi -q -x) and adds CUDA driver version, architecture, persistence,
        compute and MIG modes. It is slower on hosts with many GPUs.
      - V(never) does not run it.
    type: str
    choices: [query, xml, never]
    default: query
  nvidia_smi_timeout:
    description:
      - Seconds after which C(nvidia-smi) is stopped (through C(timeout) from coreutils when available).
        A GPU that fell off the bus can make it hang.
    type: int
    default: 20
  nvidia_ctk:
    description:
      - Run C(nvidia-ctk --version), when that binary exists, for the exact NVIDIA Container Toolkit
        version. Without it the version comes from the dpkg database only.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
  platform:
    support: full
    platforms: [linux]
    description: Reads Linux C(/sys), C(/proc) and C(/dev).
  facts:
    support: full
    description: Sets C(ansible_facts.aihost_gpu).
notes:
  - Device nodes and driver state are read from the host the module runs on. Inside a container they
    are the container's C(/dev) and the host kernel's C(/sys) and C(/proc/modules).
  - Package versions come from C(/var/lib/dpkg/status) (Debian, Ubuntu). On RPM hosts the toolkit
    version comes from C(nvidia-ctk --version) only.
  - Rootless Docker (C(~/.config/docker/daemon.json)) and containerd/CRI-O runtime configuration are
    not read.
seealso:
  - module: aihost.hardening.ai_runtime_facts
'''

EXAMPLES = r'''
- name: Collect GPU facts
  aihost.hardening.gpu_facts:

- name: Say what the host has
  ansible.builtin.debug:
    msg: "{{ ansible_facts.aihost_gpu.summary }}"

- name: Collect GPU facts without running nvidia-smi or nvidia-ctk
  aihost.hardening.gpu_facts:
    nvidia_smi: never
    nvidia_ctk: false

- name: Full nvidia-smi XML as an extra source (MIG mode, persistence mode, CUDA driver version)
  aihost.hardening.gpu_facts:
    nvidia_smi: xml

- name: Stop when the NVIDIA driver user space is installed but its kernel module is not loaded
  ansible.builtin.assert:
    that: ansible_facts.aihost_gpu.nvidia.state != 'userspace_only'
    fail_msg: "{{ ansible_facts.aihost_gpu.summary }}"

- name: List world-writable GPU device nodes
  ansible.builtin.debug:
    msg: "{{ ansible_facts.aihost_gpu.device_nodes | selectattr('world_writable') | map(attribute='path') | list }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts added to C(ansible_facts).
  returned: always
  type: complex
  contains:
    aihost_gpu:
      description: GPU, accelerator, driver, device-node and container-toolkit facts.
      returned: always
      type: complex
      contains:
        schema_version:
          description: Version of this structure. Changes only when a field changes meaning or goes away.
          returned: always
          type: int
          sample: 1
        present:
          description: True when at least one GPU or accelerator was found.
          returned: always
          type: bool
          sample: true
        gpus:
          description: >-
            PCI display devices (base class 0x03), except console-only adapters (see RV(ansible_facts.aihost_gpu.display_adapters)).
            Audio, USB and other functions of a GPU card are not listed.
          returned: always
          type: list
          elements: dict
          contains: &pci_device
            pci_address:
              description: PCI address (domain:bus:device.function); null for an accel node with no PCI device.
              type: str
              sample: "0000:01:00.0"
            vendor:
              description: V(nvidia), V(amd), V(intel), V(habana) or V(other).
              type: str
              sample: nvidia
            vendor_id:
              description: PCI vendor id.
              type: str
              sample: "0x10de"
            device_id:
              description: PCI device id.
              type: str
              sample: "0x20b0"
            subsystem_vendor_id:
              description: PCI subsystem vendor id (the board maker).
              type: str
              sample: "0x10de"
            subsystem_device_id:
              description: PCI subsystem device id.
              type: str
              sample: "0x1450"
            class:
              description: 24-bit PCI class code.
              type: str
              sample: "0x030200"
            class_name:
              description: Name of the PCI class.
              type: str
              sample: 3D controller
            driver:
              description: Kernel driver bound to the device (name of the C(driver) link); null when none is bound.
              type: str
              sample: nvidia
            driver_version:
              description: Version of that driver's kernel module where the module publishes one (out-of-tree modules do; in-tree ones do not).
              type: str
              sample: "550.54.14"
            name:
              description: Model name, from C(/proc/driver/nvidia/gpus/*/information) or nvidia-smi (NVIDIA only).
              type: str
              sample: NVIDIA A100-SXM4-80GB
            uuid:
              description: GPU UUID (NVIDIA only).
              type: str
              sample: GPU-6f1d8a6e-3c52-4d1b-9a57-0b9c5e1f2a11
            device_nodes:
              description: Device nodes that belong to this device and exist (/dev/nvidiaN, /dev/dri/cardN, /dev/dri/renderDN, /dev/accel/accelN).
              type: list
              elements: str
              sample: [/dev/nvidia0]
        accelerators:
          description: >-
            PCI processing accelerators (class 0x12) and any device with an C(accel) node (Habana Gaudi, Intel NPU,
            AMD NPU, Qualcomm AI 100), plus C(/dev/accel/*) nodes that belong to no PCI device. Same fields as RV(ansible_facts.aihost_gpu.gpus).
          returned: always
          type: list
          elements: dict
          contains: *pci_device
        display_adapters:
          description: >-
            Display-class PCI devices that only drive a console (server BMCs such as ASPEED and Matrox, emulated VGA of QEMU, VMware,
            Hyper-V, VirtualBox, virtio). They are not counted as GPUs. Same fields as RV(ansible_facts.aihost_gpu.gpus), with
            C(vendor) set to the adapter maker (for example V(ASPEED)).
          returned: always
          type: list
          elements: dict
          contains: *pci_device
        kernel_modules:
          description: >-
            For each of nvidia, nvidia_uvm, nvidia_modeset, nvidia_drm, nvidia_peermem, amdgpu, amdxdna, i915, xe, intel_vpu,
            habanalabs and qaic, whether it is loaded (listed in C(/proc/modules) or present under C(/sys/module)) and its version.
          returned: always
          type: dict
          sample: {"nvidia": {"loaded": true, "version": "550.54.14"}, "amdgpu": {"loaded": false, "version": null}}
        nvidia:
          description: The NVIDIA driver stack.
          returned: always
          type: complex
          contains:
            state:
              description: >-
                V(ready) (kernel module loaded and user space installed), V(userspace_only) (nvidia-smi or libnvidia-ml installed
                but no nvidia kernel module loaded), V(kernel_module_only), or V(absent).
              type: str
              sample: ready
            kernel_module_loaded:
              description: Whether the C(nvidia) kernel module is loaded.
              type: bool
            kernel_modules_loaded:
              description: Which of nvidia, nvidia_uvm, nvidia_modeset, nvidia_drm, nvidia_peermem are loaded.
              type: list
              elements: str
              sample: [nvidia, nvidia_uvm, nvidia_modeset]
            driver_version:
              description: Kernel driver version.
              type: str
              sample: "550.54.14"
            driver_version_source:
              description: Where the version was read (C(/proc/driver/nvidia/version) or C(/sys/module/nvidia/version)).
              type: str
            driver_flavour:
              description: V(open) (NVIDIA open GPU kernel modules) or V(proprietary); null when unknown.
              type: str
              sample: proprietary
            driver_branch:
              description: Major version of the driver (the branch used in NVIDIA security bulletins).
              type: str
              sample: "550"
            gcc_version:
              description: Compiler line of C(/proc/driver/nvidia/version).
              type: str
            userspace_present:
              description: Whether nvidia-smi or libnvidia-ml (the driver's user space) is installed.
              type: bool
            userspace_version:
              description: Version of the installed libnvidia-ml, from its versioned file name.
              type: str
              sample: "550.54.14"
            version_mismatch:
              description: True when kernel driver and user-space library versions are both known and differ (NVML then refuses to work).
              type: bool
            nvidia_smi_path:
              description: Path of nvidia-smi, from PATH or the standard directories.
              type: str
              sample: /usr/bin/nvidia-smi
            nvml_library:
              description: Path of libnvidia-ml (CUDA toolkit stubs do not count).
              type: str
              sample: /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1
            gpu_count:
              description: Number of NVIDIA GPUs on the PCI bus.
              type: int
            nvidia_smi_run:
              description: >-
                Whether nvidia-smi ran: V(ran), V(failed) (see warnings), V(disabled) (O(nvidia_smi=never)), V(not_installed),
                V(no_kernel_module) or V(no_control_node). It runs only on a working driver, because NVML creates a missing
                /dev/nvidiactl when run as root (seen with Debian's nvidia-smi 535.309.01 on a host without the module).
              type: str
              sample: ran
            nvidia_smi:
              description: Parsed nvidia-smi output; null when it was not run or failed (see warnings).
              type: complex
              contains:
                source:
                  description: V(query) or V(xml), as chosen by O(nvidia_smi).
                  type: str
                driver_version:
                  description: Driver version nvidia-smi reports.
                  type: str
                cuda_version:
                  description: Highest CUDA version the driver supports (V(xml) only; not the toolkit version).
                  type: str
                gpus:
                  description: One entry per GPU. Fields a source does not provide are null.
                  type: list
                  elements: dict
                  contains:
                    index: {description: nvidia-smi index., type: int}
                    name: {description: Product name., type: str}
                    uuid: {description: GPU UUID., type: str}
                    pci_address: {description: PCI address in sysfs form., type: str}
                    driver_version: {description: Driver version., type: str}
                    memory_total_mib: {description: Framebuffer memory in MiB., type: int}
                    minor_number: {description: Minor of /dev/nvidiaN (xml)., type: int}
                    architecture: {description: Product architecture (xml)., type: str}
                    persistence_mode: {description: Enabled or Disabled (xml)., type: str}
                    compute_mode: {description: Compute mode (xml)., type: str}
                    mig_mode: {description: Current MIG mode (xml)., type: str}
                    vbios_version: {description: VBIOS version (xml)., type: str}
        amd:
          description: The AMD stack.
          returned: always
          type: complex
          contains:
            kernel_module_loaded: {description: Whether amdgpu is loaded., type: bool}
            driver_version: {description: Version of a DKMS amdgpu (the in-tree module has none)., type: str}
            gpu_count: {description: Number of AMD GPUs on the PCI bus., type: int}
            kfd_present: {description: Whether the /dev/kfd compute node exists., type: bool}
            rocm_version: {description: Version of /opt/rocm (same as RV(ansible_facts.aihost_gpu.rocm.version))., type: str}
        intel:
          description: The Intel stack.
          returned: always
          type: complex
          contains:
            kernel_modules_loaded: {description: Which of i915 and xe are loaded., type: list, elements: str}
            gpu_count: {description: Number of Intel display devices on the PCI bus., type: int}
            npu_present: {description: Whether an Intel NPU (intel_vpu) accelerator was found., type: bool}
            npu_module_loaded: {description: Whether intel_vpu is loaded., type: bool}
        device_nodes:
          description: Character devices matching /dev/nvidia*, /dev/nvidia-caps/*, /dev/kfd, /dev/dri/* and /dev/accel/*. Symlinks are skipped.
          returned: always
          type: list
          elements: dict
          contains:
            path: {description: Node path., type: str, sample: /dev/nvidia0}
            kind:
              description: V(nvidia), V(kfd), V(dri) or V(accel).
              type: str
            type: {description: Always V(char)., type: str}
            major: {description: Major number., type: int, sample: 195}
            minor: {description: Minor number., type: int, sample: 0}
            major_name: {description: Driver registered for that major in /proc/devices; null when none (a stale node)., type: str, sample: nvidia-frontend}
            owner: {description: Owner name (uid as text when unknown)., type: str, sample: root}
            group: {description: Group name (gid as text when unknown)., type: str, sample: render}
            uid: {description: Owner uid., type: int}
            gid: {description: Group gid., type: int}
            mode: {description: Permission bits as four octal digits., type: str, sample: "0666"}
            world_readable: {description: Whether others may read it., type: bool}
            world_writable: {description: Whether others may write it (any local user can drive the device)., type: bool}
        cuda:
          description: CUDA toolkit installs.
          returned: always
          type: complex
          contains:
            version: {description: Version of the toolkit /usr/local/cuda points to., type: str, sample: "12.4.1"}
            version_source:
              description: V(version.json), V(version.txt) or V(directory name).
              type: str
            path: {description: Where /usr/local/cuda resolves to., type: str, sample: /usr/local/cuda-12.4}
            installs:
              description: Every /usr/local/cuda-X.Y directory.
              type: list
              elements: dict
              contains:
                path: {description: Directory., type: str}
                version: {description: Version., type: str}
                version_source: {description: Where the version came from., type: str}
        rocm:
          description: ROCm installs.
          returned: always
          type: complex
          contains:
            version: {description: Content of /opt/rocm/.info/version., type: str, sample: "6.2.4-120"}
            path: {description: Where /opt/rocm resolves to., type: str}
            installs:
              description: Every /opt/rocm-* directory.
              type: list
              elements: dict
              contains:
                path: {description: Directory., type: str}
                version: {description: Version., type: str}
        container_toolkit:
          description: The NVIDIA Container Toolkit and the container runtimes wired to it.
          returned: always
          type: complex
          contains:
            installed: {description: Whether any toolkit binary or package is present., type: bool}
            version: {description: Toolkit version., type: str, sample: "1.17.8"}
            version_source: {description: V(nvidia-ctk) or V(dpkg:<package>)., type: str}
            binaries:
              description: >-
                Toolkit binaries found (nvidia-ctk, nvidia-container-runtime, nvidia-container-runtime-hook,
                nvidia-container-cli, nvidia-cdi-hook), name to path.
              type: dict
              sample: {"nvidia-ctk": /usr/bin/nvidia-ctk}
            packages:
              description: Installed toolkit packages (dpkg), name to version.
              type: dict
            config_path: {description: Path of config.toml when it exists., type: str, sample: /etc/nvidia-container-runtime/config.toml}
            config:
              description: Every active (not commented-out) key of config.toml, as C(table.key) to value.
              type: dict
              sample: {"nvidia-container-cli.no-cgroups": false, "nvidia-container-runtime.mode": auto}
            docker_daemon_json: {description: Path of Docker's daemon.json when it exists., type: str}
            docker_runtimes:
              description: Runtimes declared in daemon.json, name to path.
              type: dict
              sample: {"nvidia": nvidia-container-runtime}
            docker_default_runtime: {description: default-runtime from daemon.json., type: str}
            cdi_specs:
              description: CDI spec files in /etc/cdi and /var/run/cdi.
              type: list
              elements: dict
              contains:
                path: {description: Spec file., type: str, sample: /var/run/cdi/nvidia.yaml}
                cdi_version: {description: cdiVersion., type: str, sample: "0.5.0"}
                kind: {description: Device kind., type: str, sample: nvidia.com/gpu}
                devices: {description: Device names it declares (use as kind=name)., type: list, elements: str, sample: ["0", all]}
        packages:
          description: Installed GPU-related dpkg packages (NVIDIA driver, nvidia-smi, libnvidia-ml1, CUDA, ROCm, toolkit), name to version.
          returned: always
          type: dict
          sample: {"nvidia-smi": "535.216.03-1~deb12u1"}
        summary:
          description: One plain sentence about the host.
          returned: always
          type: str
          sample: "CPU-only host: no GPU or accelerator found."
        warnings:
          description: Inputs that were skipped and why (also shown as module warnings).
          returned: always
          type: list
          elements: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aihost.hardening.plugins.module_utils import gpu
from ansible_collections.aihost.hardening.plugins.module_utils.gpu import HostTree

# The runner and the collection with the module's options live in module_utils/gpu.py, shared with
# aihost.hardening.host_audit_facts; these names stay for callers of this module's functions.
make_runner = gpu.module_runner


def collect_facts(module, host):
    return gpu.collect_for_module(module, host)


def main():
    module = AnsibleModule(argument_spec=dict(gpu.ARGUMENT_SPEC), supports_check_mode=True)
    module.run_command_environ_update = dict(LANG='C', LC_ALL='C', LC_MESSAGES='C')
    errors = gpu.option_errors(module.params)
    if errors:
        module.fail_json(msg='; '.join(errors))
    facts = collect_facts(module, HostTree('/'))
    for warning in facts['warnings']:
        module.warn(warning)
    module.exit_json(changed=False, ansible_facts=dict(aihost_gpu=facts))


if __name__ == '__main__':
    main()
