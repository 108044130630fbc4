"""cloudsim: an OpenStack-API-compatible simulator (Keystone v3, Nova, Neutron, Glance subset)."""
