"""The PBX port and its adapters (ARI, AMI, simulator)."""
