"""Pure domain logic: clocks, lifecycles, id formats and API errors. No I/O, no web framework."""
