import streamlit as st

st.title("interventions")
st.info("This page is being built.")
