import streamlit as st

st.title("placement")
st.info("This page is being built.")
