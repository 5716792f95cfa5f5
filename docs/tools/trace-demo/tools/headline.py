def execute(text):
    """Turns a sentence into a headline."""
    return text.rstrip(".").title()
