"""Pure domain layer: entities, errors, cancel tokens and the ports the engines meet through."""
