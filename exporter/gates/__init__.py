"""Gates: the one way in for each kind of untrusted input, each built on a library made for it."""
