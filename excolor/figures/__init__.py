"""Figure builders: numbers in, Altair charts and pydeck decks (each with a text description) out.

The middle layer between the science (excolor's top-level modules) and the app (excolor.app): nothing here
trains, evaluates or imports Streamlit.
"""
