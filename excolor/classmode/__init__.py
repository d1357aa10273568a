"""Class mode: a teacher's class code, the predict-before-reveal questions and the class's anonymous votes.

Kept apart from the science modules (nothing here trains or evaluates) and from the app (no streamlit here):
`excolor.app.classroom` draws it, `python -m excolor tally` prints it.
"""
