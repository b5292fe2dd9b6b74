"""The seed's two nginx files, verbatim (../shared/seed, "Nginx Configuration"): conf.d/k8sapi.conf, which
Debian's nginx.conf includes inside `http {}` (L7 on 8080 and 8443), and tcpconf.d/k8sapi.conf, a
`stream {}` block (L4 on 8080); and their adaptation to a test directory."""

from __future__ import annotations

from pathlib import Path

SEED_HTTP = """\
upstream k8s-api-8080 {
    server 192.168.13.104:8080;
}
server {
    listen 8080;
    server_name k8sapi-vrrp.kloud.lan;

    location / {
      access_log      /var/log/nginx/keepalived.access.log;
      error_log       /var/log/nginx/keepalived.error.log;

      proxy_set_header   Host              $http_host;
      proxy_set_header   X-Real-IP         $remote_addr;
      proxy_set_header   X-Forwarded-For   $proxy_add_x_forwarded_for;
      proxy_set_header   X-Forwarded-Proto https;

      # round-robin load balancing
      proxy_pass          http://k8s-api-8080;
      proxy_read_timeout  90;
    }
}

upstream k8s-api-8443 {
    server 192.168.13.104:8443;
}
server {
    listen 8443 ssl;
    server_name k8sapi-vrrp.kloud.lan;

    ssl_certificate       /etc/ssl/certs/k8sapiserver.crt;
    ssl_certificate_key   /etc/ssl/private/k8sapiserver.key;

    ssl_session_cache  builtin:1000  shared:SSL:10m;
    ssl_protocols  TLSv1.3 TLSv1.2;
    ssl_ciphers HIGH:!aNULL:!eNULL:!EXPORT:!CAMELLIA:!DES:!MD5:!PSK:!RC4;
    ssl_prefer_server_ciphers on;

    location / {
      access_log      /var/log/nginx/keepalived.access.log;
      error_log       /var/log/nginx/keepalived.error.log;

      proxy_set_header   Host              $http_host;
      proxy_set_header   X-Real-IP         $remote_addr;
      proxy_set_header   X-Forwarded-For   $proxy_add_x_forwarded_for;
      proxy_set_header   X-Forwarded-Proto https;

      proxy_ssl_certificate         /etc/ssl/certs/k8sapiclient.crt;
      proxy_ssl_certificate_key     /etc/ssl/private/k8sapiclient.key;
      proxy_ssl_protocols           TLSv1.3 TLSv1.2;
      proxy_ssl_ciphers             HIGH:!aNULL:!eNULL:!EXPORT:!CAMELLIA:!DES:!MD5:!PSK:!RC4;
      proxy_ssl_verify_depth  2;
      proxy_ssl_session_reuse on;
      # round-robin load balancing
      proxy_pass          https://k8s-api-8443;
      proxy_read_timeout  90;
    }
}
"""

SEED_STREAM = """\
stream {
    log_format k8sapilogs '[$time_local] $remote_addr:$remote_port $server_addr:$server_port '
        '$protocol $status $bytes_sent $bytes_received '
        '$session_time';
    upstream k8s-api {
\tserver 192.168.13.104:8080;
    }
    server {
        listen 8080;

        proxy_pass k8s-api;
        access_log /var/log/nginx/keepalived.access.log k8sapilogs;
\terror_log /var/log/nginx/keepalived.error.log warn;
    }
}
"""


def adapted(text: str, logs: Path, server: tuple[Path, Path], client: tuple[Path, Path], backend: str) -> str:
    """The seed file with its log directory, certificates and backend address replaced."""
    replacements = {
        "/var/log/nginx/": f"{logs}/",
        "/etc/ssl/certs/k8sapiserver.crt": str(server[0]),
        "/etc/ssl/private/k8sapiserver.key": str(server[1]),
        "/etc/ssl/certs/k8sapiclient.crt": str(client[0]),
        "/etc/ssl/private/k8sapiclient.key": str(client[1]),
        "192.168.13.104": backend,
    }
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text
