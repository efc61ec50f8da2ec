"""The built-in lab: a faithful twin of two secure CUCM clusters, a phone fleet and DHCP, speaking real
protocols on loopback. Imports ``reconciler.cucm``, the kernel and ``schemas`` only."""
