# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""List containers through the Docker Engine API (or Podman's Docker-compatible API) over a UNIX
socket, with the standard library only. No socket means no containers, not an error."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket
import stat

try:
    import http.client as http_client
except ImportError:  # pragma: no cover - Python 2 is not supported on targets
    http_client = None


class ContainerApiError(Exception):
    """The socket exists but the API did not answer as expected."""


if http_client is not None:
    class UnixHTTPConnection(http_client.HTTPConnection):
        """HTTPConnection over AF_UNIX."""

        def __init__(self, path, timeout):
            http_client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
            self.socket_path = path

        def connect(self):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.socket_path)
            except Exception:
                sock.close()
                raise
            self.sock = sock


def is_socket(path):
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def api_get(socket_path, path, timeout=1.0):
    """GET ``path`` from the API on ``socket_path`` and return the decoded JSON."""
    connection = UnixHTTPConnection(socket_path, timeout)
    try:
        connection.request("GET", path, headers={"Host": "localhost", "Accept": "application/json"})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise ContainerApiError("GET %s on %s answered HTTP %d" % (path, socket_path, response.status))
        return json.loads(body.decode("utf-8", "replace"))
    except (OSError, ValueError, http_client.HTTPException) as exc:
        raise ContainerApiError("GET %s on %s failed: %s" % (path, socket_path, exc))
    finally:
        connection.close()


def normalise_image(image):
    """``docker.io/library/redis:7@sha256:..`` -> ``redis``; keep other registries' prefixes."""
    if not image:
        return ""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[:len(name) - len(last)] + last.split(":", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/", "index.docker.io/",
                   "registry-1.docker.io/library/", "registry-1.docker.io/", "library/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return name.lower()


def image_tag(image):
    """The tag of an image reference, or None (``ollama/ollama:0.3.1`` -> ``0.3.1``)."""
    if not image:
        return None
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1]
    return None


def parse_container_summary(item, engine):
    """One entry of GET /containers/json -> our container dict (pure)."""
    names = item.get("Names") or []
    name = names[0].lstrip("/") if names else None
    published = []
    seen = set()
    for port in item.get("Ports") or []:
        if not port.get("PublicPort"):
            continue
        key = (port.get("IP") or "", port.get("PublicPort"), port.get("PrivatePort"), port.get("Type") or "tcp")
        if key in seen:
            continue
        seen.add(key)
        published.append({
            "host_ip": port.get("IP") or "",
            "host_port": port.get("PublicPort"),
            "container_port": port.get("PrivatePort"),
            "protocol": port.get("Type") or "tcp",
        })
    published.sort(key=lambda p: (p["host_port"], p["protocol"], p["host_ip"]))
    mounts = []
    for mount in item.get("Mounts") or []:
        if mount.get("Destination"):
            mounts.append({"source": mount.get("Source"), "destination": mount.get("Destination")})
    networks = []
    for network_name, endpoint in sorted(((item.get("NetworkSettings") or {}).get("Networks") or {}).items()):
        networks.append({"name": network_name, "id": (endpoint or {}).get("NetworkID") or None,
                         "default_bridge": None, "host_binding_ipv4": None})
    return {
        "id": item.get("Id"),
        "name": name,
        "image": item.get("Image"),
        "engine": engine,
        "state": item.get("State"),
        "command": item.get("Command"),
        "published": published,
        "mounts": mounts,
        "networks": networks,
        "host_network": (item.get("HostConfig") or {}).get("NetworkMode") == "host",
        "env": None,
        "cmd": None,
        "user": None,
    }


def parse_networks(items):
    """GET /networks -> {network id: {"name", "default_bridge", "host_binding_ipv4"}} (pure).

    ``default_bridge``: Docker's own ``bridge`` network, where daemon.json's ``"ip"`` is the
    default address of ports published without one. ``host_binding_ipv4``: the network's
    ``com.docker.network.bridge.host_binding_ipv4`` option (what a user-defined network, Compose's
    included, binds such ports to; daemon.json's ``"ip"`` does not apply there), or None.
    """
    networks = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not item.get("Id"):
            continue
        options = item.get("Options") if isinstance(item.get("Options"), dict) else {}
        binding = options.get("com.docker.network.bridge.host_binding_ipv4")
        networks[item["Id"]] = {
            "name": item.get("Name"),
            "default_bridge": options.get("com.docker.network.bridge.default_bridge") == "true",
            "host_binding_ipv4": binding if isinstance(binding, str) and binding else None,
        }
    return networks


def annotate_networks(containers, networks):
    """Copy each network's default_bridge and host_binding_ipv4 into the containers (in place)."""
    for container in containers:
        for network in container.get("networks") or []:
            known = networks.get(network.get("id"))
            if known:
                network["default_bridge"] = known["default_bridge"]
                network["host_binding_ipv4"] = known["host_binding_ipv4"]
    return containers


def parse_container_inspect(data):
    """Env, argv and user from GET /containers/<id>/json (pure)."""
    config = data.get("Config") or {}
    env = {}
    for item in config.get("Env") or []:
        key, sep, value = item.partition("=")
        if sep:
            env[key] = value
    argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    return {"env": env, "cmd": argv, "user": config.get("User") or "root"}


def list_containers(socket_paths, timeout=1.0, warnings=None):
    """Running containers from every engine socket that exists. Returns {id: container}."""
    containers = {}
    for engine, path in socket_paths:
        if not path or not is_socket(path):
            continue
        try:
            items = api_get(path, "/containers/json", timeout)
        except ContainerApiError as exc:
            if warnings is not None:
                warnings.append("container API unavailable: %s" % exc)
            continue
        found = []
        for item in items if isinstance(items, list) else []:
            container = parse_container_summary(item, engine)
            container["socket"] = path
            if container["id"] and container["id"] not in containers:
                containers[container["id"]] = container
                found.append(container)
        # One more call per socket, only when a container publishes a port: the networks' options
        # say where a port published without an address binds (see parse_networks).
        if any(container["published"] and container["networks"] for container in found):
            try:
                annotate_networks(found, parse_networks(api_get(path, "/networks", timeout)))
            except ContainerApiError as exc:
                if warnings is not None:
                    warnings.append("could not read the container networks: %s" % exc)
    return containers


def inspect_container(container, timeout=1.0, warnings=None):
    """Fill env/cmd/user of one container in place (best effort)."""
    try:
        data = api_get(container["socket"], "/containers/%s/json" % container["id"], timeout)
    except ContainerApiError as exc:
        if warnings is not None:
            warnings.append("could not inspect container %s: %s" % (container.get("name"), exc))
        return container
    container.update(parse_container_inspect(data))
    return container
