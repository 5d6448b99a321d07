"""Every card kind the enforcer can send, checked with Microsoft's Adaptive Cards renderer and shown in Chromium."""
