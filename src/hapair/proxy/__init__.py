"""The load balancer's data planes: picking upstream peers (`balancer`), the L7 HTTP proxy (`http`) and the
L4 TCP relay (`stream`), all run from the typed nginx model of `hapair.config.nginx`."""
