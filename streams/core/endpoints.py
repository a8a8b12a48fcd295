"""Where a policy may send prompts: the checks on a provider's ``endpoint``.

- ``https`` is required, except for a provider declared ``hosting: on-premises`` (the
  administration's own network) or an endpoint on this machine's loopback (a local stand-in,
  or a local proxy that adds TLS): a prompt never crosses a network in clear.
- Link-local and cloud metadata addresses are refused for every provider, whatever the
  scheme: a policy must not be able to point douane at the host's instance metadata service
  (credentials) or at a neighbour on the link. Numeric spellings that resolvers accept
  (``2852039166``, ``0xa9.0xfe.0xa9.0xfe``, ``[::ffff:169.254.169.254]``) are read as the
  address they stand for.
- No user name or password in the URL: a provider's credentials come from the environment
  (they would otherwise be copied into the policy's hash input, its diff and the audit log).

A host *name* is not resolved here (the core does no I/O): a name whose DNS answer is a
metadata address is the DNS operator's to prevent, and is out of reach of this check.
"""

from __future__ import annotations

import ipaddress
import re
from socket import inet_aton  # parses address text only (tests/unit/test_core_pure.py)
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names of instance metadata services (GCP, AWS, Azure, OpenStack, Alibaba...).
METADATA_NAMES = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data",
    "instance-data.ec2.internal", "metadata.azure.internal", "metadata.internal",
})
REFUSED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "169.254.0.0/16",       # IPv4 link-local: AWS, Azure, GCP, OpenStack, Oracle metadata
    "fe80::/10",            # IPv6 link-local
    "fd00:ec2::254/128",    # AWS metadata over IPv6
    "100.100.100.200/32",   # Alibaba Cloud metadata
    "168.63.129.16/32",     # Azure host agent (wireserver)
    "0.0.0.0/8",            # "this host": not a destination
    "::/128",
))
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"  # one part of a DNS name
_NAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def endpoint_problem(endpoint: str, hosting: str) -> str | None:
    """Why ``endpoint`` may not be used by a provider with this ``hosting``, or None."""
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError as error:
        return f"not a valid URL ({error})"
    if parts.scheme not in ("https", "http"):
        return "must start with https://"
    if parts.username is not None or parts.password is not None:
        return ("must not hold a user name or password: give the provider's credentials in "
                "the environment")
    if not host:
        return "has no host"
    host = host.rstrip(".")
    address = _address(host)
    if address is None and not _NAME.match(host):
        return f"'{host}' is not a valid host name or address"
    if host in METADATA_NAMES or (address is not None and _refused(address)):
        return (f"'{host}' is a link-local or cloud metadata address, which no provider may "
                "use")
    if parts.scheme == "http" and hosting != "on-premises" and not _loopback(host, address):
        return ("must use https: plain http is accepted only for a provider with hosting: "
                "on-premises, or on this machine's loopback (127.0.0.1, ::1, localhost)")
    return None


def _address(host: str) -> IpAddress | None:
    """The address ``host`` stands for if it is numeric in any form a resolver accepts."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fx.]+", host) and re.match(r"[0-9]", host):
        try:  # inet_aton: the legacy forms getaddrinfo accepts (decimal, octal, hex, a.b.c)
            return ipaddress.IPv4Address(inet_aton(host))
        except OSError:
            return None
    return None


def _refused(address: IpAddress) -> bool:
    candidates: list[IpAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        if address in _NAT64:
            candidates.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return any(c in network for c in candidates for network in REFUSED_NETWORKS
               if c.version == network.version)


def _loopback(host: str, address: IpAddress | None) -> bool:
    if address is not None:
        return address.is_loopback
    return host == "localhost"
