"""Option 150 on DHCP servers: the narrow backend contract, the Kea, IOS and CUCM DHCP backends, and the
``option150`` provider over any backend."""
