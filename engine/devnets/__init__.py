"""Local devnets for chains no real node can run here. Each is honest about being one; the chain
adapters cannot tell (they speak the real protocol to it)."""
