"""Use-cases that combine vision, matching, domain rules and the store; the only writer."""
