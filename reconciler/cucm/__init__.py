"""CUCM domain knowledge shared by providers, rules and the simulator: certificates, the ITL/CTL TLV
codec, the phone's trust decision and the procedure rules R1–R14. Imports only ``schemas``, the kernel
(``reconciler.errors``, ``reconciler.diagnostics``) and third-party libraries."""
