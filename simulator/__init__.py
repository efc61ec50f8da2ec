"""The built-in lab: a faithful twin of two secure CUCM clusters, a phone fleet and DHCP, speaking real
protocols on loopback. Imports the product's kernel (``errors``, ``vocabulary``, ``dhcpwire``,
``diagnostics``, ``yamlsource``, ``boundedio``) and ``schemas`` only: never ``reconciler.cucm``."""
