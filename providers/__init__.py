"""Clients that read and change real systems (CUCM AXL, certificates, CLI, serviceability, TFTP; Kea,
IOS and CUCM DHCP; SFTP), one module per system, all behind the contract in ``reconciler.provider``."""
