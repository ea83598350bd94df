"""The lanes of a validate run, on Dagger.

Each lane is an async function from a `LaneContext` (its upstream lanes'
outputs) to a `LaneOutcome`; `graph.validation_graph` declares which lanes a
contract needs and how they depend on each other. Lanes translate between
Dagger objects and the domain (contract, rules, findings, registry), which
never import Dagger.
"""
