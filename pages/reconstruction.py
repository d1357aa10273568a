import streamlit as st

st.title("reconstruction")
st.info("This page is being built.")
