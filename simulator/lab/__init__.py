"""The running lab: the runtime that puts every face on the model, its faces and faults, the spec file of
``lab up --spec``, the control endpoint, and the process plumbing of ``lab up --detach`` / ``lab down``."""
