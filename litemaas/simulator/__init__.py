"""Model simulator: stands in for vLLM, docling-serve and Llama Guard in tests and on laptops."""

from litemaas.simulator.server import SimulatorSettings, create_app, run

__all__ = ["SimulatorSettings", "create_app", "run"]
