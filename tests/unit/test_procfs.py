"""plugins/module_utils/procfs.py: /proc/net tables decode to the addresses `ss` shows, sockets map
to their processes through /proc/<pid>/fd, cgroup paths name units and containers, and processes
that vanish or cannot be read are skipped instead of crashing the scan."""
import os
import re

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import procfs

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "procfs")


def ss_listeners(case):
    """(protocol, address, port, pid or None) from the ss -ltnup output captured with a fixture."""
    result = set()
    with open(os.path.join(FIXTURES, case, "ss-ltnup.txt")) as handle:
        for line in handle.read().splitlines()[1:]:
            fields = line.split()
            address, port = fields[4].rsplit(":", 1)
            address = address.strip("[]")
            pid = re.search(r"pid=(\d+)", line)
            result.add((fields[0], address, int(port), int(pid.group(1)) if pid else None))
    return result


def as_ss(listener):
    """Render one of our listeners the way ss prints its local address ('*' for dual-stack ::)."""
    address = listener["address"]
    if listener["family"] == "ipv6" and address == "::":
        address = "*"
    return (listener["protocol"], address, listener["port"])


# ---------------------------------------------------------------- addresses and scopes

@pytest.mark.parametrize("hex_address, family, byteorder, expected", [
    ("0100007F", "ipv4", "little", "127.0.0.1"),          # captured: host-http-servers tcp
    ("00000000", "ipv4", "little", "0.0.0.0"),
    ("7F000001", "ipv4", "big", "127.0.0.1"),             # SYNTHETIC: same socket on a big-endian host
    ("00000000000000000000000001000000", "ipv6", "little", "::1"),        # captured tcp6
    ("000000FD000000000000000002000000", "ipv6", "little", "fd00::2"),    # captured tcp6
    ("0000000000000000FFFF00000100007F", "ipv6", "little", "::ffff:127.0.0.1"),  # captured d12 tcp6
    ("00000000000000000000FFFF7F000001", "ipv6", "big", "::ffff:127.0.0.1"),     # SYNTHETIC big-endian
])
def test_addresses_decode_like_ss_prints_them(hex_address, family, byteorder, expected):
    assert procfs.decode_address(hex_address, family, byteorder) == expected


@pytest.mark.parametrize("address, scope", [
    ("127.0.0.1", "loopback"), ("127.0.0.53", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"), ("0.0.0.0", "all"), ("::", "all"), ("", "all"),
    ("192.168.1.10", "specific"), ("fd00::2", "specific"), ("::ffff:10.0.0.1", "specific"),
    ("not-an-address", "specific"),
])
def test_bind_addresses_are_classified_by_scope(address, scope):
    assert procfs.address_scope(address) == scope


def test_widest_scope_orders_none_loopback_specific_all():
    assert procfs.widest_scope([]) == "none"
    assert procfs.widest_scope(["loopback", "specific"]) == "specific"
    assert procfs.widest_scope(["loopback", "all", "specific"]) == "all"


def test_bad_hex_is_rejected_not_misread():
    with pytest.raises(ValueError):
        procfs.decode_address("0100", "ipv4")
    with pytest.raises(ValueError):
        procfs.decode_address("0100007F", "ipv6")


# ---------------------------------------------------------------- /proc/net tables

@pytest.mark.parametrize("case", ["host-http-servers", "debian12-standins"])
def test_listeners_match_what_ss_reported_at_capture_time(case):
    listeners = procfs.read_listeners(os.path.join(FIXTURES, case))
    ours = set(as_ss(item) for item in listeners)
    theirs = set(item[:3] for item in ss_listeners(case))
    assert ours == theirs


def test_connected_udp_sockets_and_non_listening_tcp_rows_are_not_listeners():
    # debian12-standins/proc/net/udp holds a bound socket on 127.0.0.1:5355 and a socket connected
    # to it (state 01, non-zero remote): only the first is a listener.
    with open(os.path.join(FIXTURES, "debian12-standins", "proc", "net", "udp")) as handle:
        text = handle.read()
    rows = procfs.parse_net_table(text, "udp", "ipv4", include_all_states=True)
    listeners = procfs.parse_net_table(text, "udp", "ipv4")
    assert len(rows) > len(listeners)
    assert [(item["address"], item["port"]) for item in listeners] == [("127.0.0.1", 5355)]


def test_malformed_rows_are_skipped():
    # SYNTHETIC: header, a good LISTEN row (format of tcp4_seq_show), then damaged rows.
    text = "\n".join([
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
        "   0: 0100007F:2CAA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   997        0 4242 1 0 100 0 0 10 0",
        "   1: ZZZZZZZZ:2CAA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0",
        "   2: 0100007F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0",
        "   3: truncated",
        "",
    ])
    listeners = procfs.parse_net_table(text, "tcp", "ipv4", byteorder="little")
    assert listeners == [{"protocol": "tcp", "family": "ipv4", "address": "127.0.0.1", "port": 11434,
                          "scope": "loopback", "state": 10, "uid": 997, "inode": 4242}]


def test_include_udp_false_reads_only_tcp():
    listeners = procfs.read_listeners(os.path.join(FIXTURES, "host-http-servers"), include_udp=False)
    assert listeners and set(item["protocol"] for item in listeners) == {"tcp"}


def test_missing_ipv6_tables_are_not_an_error(tmp_path):
    (tmp_path / "proc" / "net").mkdir(parents=True)
    with open(os.path.join(FIXTURES, "host-http-servers", "proc", "net", "tcp")) as handle:
        (tmp_path / "proc" / "net" / "tcp").write_text(handle.read())
    warnings = []
    listeners = procfs.read_listeners(str(tmp_path), warnings=warnings)
    assert len(listeners) == 4 and warnings == []


def test_an_unreadable_table_becomes_a_warning(tmp_path):
    (tmp_path / "proc" / "net" / "tcp6").mkdir(parents=True)  # a directory: reading it fails
    warnings = []
    assert procfs.read_listeners(str(tmp_path), warnings=warnings) == []
    assert len(warnings) == 1 and "tcp6" in warnings[0]


# ---------------------------------------------------------------- per-process files

def test_status_gives_name_parent_and_effective_ids():
    text = "Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nPPid:\t1\nUid:\t997\t998\t998\t998\nGid:\t996\t996\t996\t996\n"
    assert procfs.parse_status(text) == {"name": "python3", "ppid": 1, "uid": 998, "gid": 996}


def test_cmdline_is_split_on_nul_and_rewritten_titles_on_spaces():
    assert procfs.parse_cmdline(b"/usr/local/bin/ollama\x00serve\x00") == ["/usr/local/bin/ollama", "serve"]
    assert procfs.parse_cmdline(b"") == []
    # setproctitle-style rewritten title (SYNTHETIC, as Ray workers show it)
    assert procfs.parse_cmdline(b"ray::IDLE worker") == ["ray::IDLE", "worker"]


def test_environ_parses_and_keeps_values_with_equals_signs():
    env = procfs.parse_environ(b"OLLAMA_HOST=0.0.0.0:11434\x00X=a=b\x00junk\x00")
    assert env == {"OLLAMA_HOST": "0.0.0.0:11434", "X": "a=b"}


def test_cgroup_v1_in_a_systemd_container_names_unit_and_container():
    with open(os.path.join(FIXTURES, "debian12-standins", "proc", "82", "cgroup")) as handle:
        info = procfs.parse_cgroup(handle.read())
    assert info["unit"] == "ollama.service"
    assert info["container_id"] == "e6721d0e07f10c63f2d26782dcf9610f08bc02a1e43e5e6fb752cd3230defa36"
    assert info["container_runtime"] == "docker"


CONTAINER_ID = "4f" * 32


@pytest.mark.parametrize("text, unit, container, runtime", [
    # SYNTHETIC, cgroup v2 formats as systemd and the engines create them (cgroups(7), systemd.unit(5)):
    ("0::/system.slice/ollama.service\n", "ollama.service", None, None),
    ("0::/system.slice/docker-%s.scope\n" % CONTAINER_ID, None, CONTAINER_ID, "docker"),
    ("0::/machine.slice/libpod-%s.scope/container\n" % CONTAINER_ID, None, CONTAINER_ID, "podman"),
    ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/libpod-%s.scope\n" % CONTAINER_ID,
     "user@1000.service", CONTAINER_ID, "podman"),
    ("0::/kubepods.slice/kubepods-burstable.slice/kubepods-pod1.slice/cri-containerd-%s.scope\n" % CONTAINER_ID,
     None, CONTAINER_ID, "containerd"),
    ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/jupyter.service\n", "jupyter.service", None, None),
    ("12:pids:/docker/%s\n1:name=systemd:/docker/%s\n" % (CONTAINER_ID, CONTAINER_ID), None, CONTAINER_ID, "docker"),
    ("0::/\n", None, None, None),
    ("garbage without colons\n", None, None, None),
])
def test_cgroup_paths_name_units_and_containers(text, unit, container, runtime):
    info = procfs.parse_cgroup(text)
    assert (info["unit"], info["container_id"], info["container_runtime"]) == (unit, container, runtime)


def test_passwd_maps_uids_to_names_and_homes():
    with open(os.path.join(FIXTURES, "debian12-standins", "etc", "passwd")) as handle:
        users = procfs.parse_passwd(handle.read())
    assert users[0] == ("root", "/root")
    ollama = [uid for uid, (name, _home) in users.items() if name == "ollama"]
    assert len(ollama) == 1 and users[ollama[0]][1] == "/usr/share/ollama"


# ---------------------------------------------------------------- scanning processes

def test_socket_inodes_map_to_the_pids_ss_reported(fixture_tree):
    root = fixture_tree("procfs/debian12-standins")
    processes = procfs.scan_processes(root)
    owners = procfs.inode_owners(processes)
    by_port = {}
    for listener in procfs.read_listeners(root):
        by_port[(listener["protocol"], listener["port"])] = owners.get(listener["inode"], [None])[0]
    for protocol, _address, port, pid in ss_listeners("debian12-standins"):
        assert by_port[(protocol, port)] == pid, (protocol, port)


def test_process_details_come_from_status_cmdline_cgroup_and_links(fixture_tree):
    root = fixture_tree("procfs/debian12-standins")
    process = procfs.read_process(88, root)
    assert process["name"] == "python3"
    assert process["cmdline"] == ["/usr/bin/python3", "main.py", "--listen", "--port", "8188"]
    assert process["cwd"] == "/opt/ComfyUI"
    assert process["unit"] == "comfyui.service"
    assert process["sockets"] and process["fd_readable"]


def test_a_process_that_exits_mid_scan_is_skipped(fixture_tree):
    root = fixture_tree("procfs/host-http-servers")
    # The pid directory is listed, then the process is gone before its status is read.
    os.makedirs(os.path.join(root, "proc", "99999"))
    processes = procfs.scan_processes(root)
    assert 99999 not in processes and 3628 in processes
    assert procfs.read_process(424242, root) is None


def test_an_fd_closed_between_listdir_and_readlink_is_ignored(fixture_tree, monkeypatch):
    root = fixture_tree("procfs/host-http-servers")
    real_readlink = os.readlink

    def flaky_readlink(path, *args, **kwargs):
        if path.endswith(os.path.join("3640", "fd", "3")):
            raise FileNotFoundError(2, "No such file or directory", path)
        return real_readlink(path, *args, **kwargs)

    monkeypatch.setattr(procfs.os, "readlink", flaky_readlink)
    process = procfs.read_process(3640, root)
    assert process is not None and len(process["sockets"]) == 1


def test_unreadable_fd_tables_are_counted_in_one_warning(fixture_tree, monkeypatch):
    root = fixture_tree("procfs/host-http-servers")
    real_listdir = os.listdir

    def denied(path):
        if str(path).rstrip("/").endswith(os.path.join("3628", "fd")):
            raise PermissionError(13, "Permission denied", path)
        return real_listdir(path)

    monkeypatch.setattr(procfs.os, "listdir", denied)
    warnings = []
    processes = procfs.scan_processes(root, warnings=warnings)
    assert processes[3628]["fd_readable"] is False and processes[3628]["sockets"] == set()
    assert len(warnings) == 1 and "1 processes" in warnings[0]


def test_status_unreadable_for_permission_reasons_skips_the_process(fixture_tree, monkeypatch):
    root = fixture_tree("procfs/host-http-servers")
    real_open = open

    def guarded_open(path, *args, **kwargs):
        if str(path).endswith(os.path.join("3629", "status")):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded_open)
    assert procfs.read_process(3629, root) is None


def test_environ_of_a_vanished_process_is_none(tmp_path):
    assert procfs.read_environ(12345, str(tmp_path)) is None
