import streamlit as st

st.title("hypothesis")
st.info("This page is being built.")
