"""The site registry: what the crawler knows about each site of the network (declarative)."""
from .registry import Channel, Network, Site, UrlInfo, load_network

__all__ = ["Channel", "Network", "Site", "UrlInfo", "load_network"]
