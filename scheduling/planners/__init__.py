"""Pure planners (no Django): ``contacts`` books antennas for passes (CP-SAT with a
value-first greedy fallback), ``transfers`` places transfer chunks onto contacts with
ETAs and deadline risk. ``scheduling.services`` feeds them rows and applies their output."""
