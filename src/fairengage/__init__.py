"""FairEngage: community engagements under a bias-free-policing policy."""

__version__ = "0.1.0"
