"""`hapair bgp`: N active nodes behind one VIP, each announcing it over BGP while it is healthy, through
an existing BGP speaker (BIRD or ExaBGP); docs/bgp.md."""
