"""proxy.py plugins the proxy tests load (proxy.py imports this module by name).

`RefuseTunnels` makes the proxy what many corporate proxies are: plain HTTP is
forwarded, CONNECT (and with it every WebSocket through the proxy) is refused.
"""

from __future__ import annotations

from typing import Any

from proxy.http.exception import HttpRequestRejected
from proxy.http.proxy import HttpProxyBasePlugin


class RefuseTunnels(HttpProxyBasePlugin):  # type: ignore[misc]
    def before_upstream_connection(self, request: Any) -> Any:
        if request.method == b"CONNECT":
            raise HttpRequestRejected(status_code=403, reason=b"Tunnels are not allowed here")
        return request
