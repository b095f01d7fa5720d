from .cli import main

main(prog_name="digest-export")
