"""Real network faces of the model: AXL, ControlCenterServices, RisPort70, certmgr REST, admin SSH CLI,
TFTP-over-HTTP, IOS DHCP CLI and SFTP servers on loopback addresses."""
