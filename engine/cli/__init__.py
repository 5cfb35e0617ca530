def main():
    raise SystemExit("cli pending")
