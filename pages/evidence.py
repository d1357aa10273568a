import streamlit as st

st.title("evidence")
st.info("This page is being built.")
