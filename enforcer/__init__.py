"""Defender for AI Enforcer: keeps the Microsoft Defender for Cloud `AI` plan enabled, exactly as configured."""

__all__ = ["__version__"]

__version__ = "0.1.0"
