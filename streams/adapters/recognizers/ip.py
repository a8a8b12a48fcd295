"""IP addresses (v4 and v6), validated with the standard library's ``ipaddress``."""

from __future__ import annotations

import ipaddress

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern

IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)"
IPV6 = r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"


class DouaneIpRecognizer(DouaneRecognizer):
    ENTITY = "IP_ADDRESS"
    PATTERNS = (Pattern("IPv4", IPV4, 0.8), Pattern("IPv6", IPV6, 0.8))
    CONTEXT = {"*": ("ip", "ipv4", "ipv6", "adresse ip", "dirección ip", "ip-адреса",
                     "ip-адресу", "ip-tala", "server", "serveur")}

    def validate(self, candidate: str) -> bool:
        if ":" in candidate and sum(c != ":" for c in candidate) < 2:
            return False  # "::" or "::1" alone is too weak a signal
        try:
            ipaddress.ip_address(candidate)
        except ValueError:
            return False
        return True
