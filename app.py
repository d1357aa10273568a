"""excolor: the entry point and landing page (Hypothesis): the idea of anchoring, the network, the four
regularizers, the claim, a prediction.

Run with `streamlit run app.py`; the other pages are the scripts in pages/, each drawing the same shell first
(excolor.app.shell). The landing page must render at once, so nothing here waits for training: the shell has
already queued both placements on the background trainer, and a small live status says how far it has got.

`streamlit run app.py` reads this file in two ways. When the server starts, it finds the st.App at the bottom and
imports the file once as the module `app`: that only creates the App, whose lifespan warms the server up while the
first visitor's browser loads (excolor.app.warmup). Every visit of the landing page then runs the file as
Streamlit's `__main__`, which draws the page.
"""

import streamlit as st

from excolor.app import shell, warmup

if __name__ == "__main__":  # a visit, not the server's start (see above): the menu first, then the heavy imports
    frame = shell.page("Hypothesis")

    from excolor.app import caches, classroom, divergence, teacher, training, visitor
    from excolor.figures import diagrams, notebook, regularizers
    from excolor.text import fmt


def introduction() -> None:
    st.title("Anchoring red: before or after the normalization?")
    st.markdown(
        "Neural networks store concepts as **directions** in their internal activations. Usually we train a network "
        "first and then go looking for the direction that means, say, *red*. This experiment turns that around: "
        "**we choose red's direction before training** — the unit vector $c = (1, 0, 0, 0)$ in a 4-D latent space — "
        "and add loss terms that make the network put red there. Once we know where red lives, we can turn it down "
        "or push it away at inference time and leave every other color alone."
    )
    st.markdown(
        "The test bed is tiny on purpose: an autoencoder that squeezes a color (3 numbers: red, green, blue) "
        "through 4 numbers and rebuilds it. Colors are easy to look at, so you can *see* whether it worked."
    )


@st.fragment(run_every=1.0)
def training_progress(recipes) -> None:
    """Live status while the models train; one full rerun when done, which stops the polling."""
    status = training.status_for(training.visitor_id(), recipes)
    if status.done:
        st.rerun()
    st.progress(status.fraction, text=f"Meanwhile, both models are training in the background: {status.text}")


def training_notice() -> None:
    """How far this visitor's pair has got: live while it trains, then done, failed or diverged."""
    recipes = visitor.current_recipes()
    status = training.status_for(training.visitor_id(), recipes)
    if not status.done:
        training_progress(recipes)
    elif status.error:
        st.warning(f"Training seed {recipes[0].seed} failed ({status.error}); the next page tries again.", icon="⚠️")
    elif diverged := divergence.diverged(recipes):
        divergence.warn(diverged)
    else:
        st.success(f"Both models for seed {recipes[0].seed} are trained: the next page shows the results.", icon="✅")


def the_network() -> None:
    st.header("The network")
    diagram, caption = diagrams.network_diagram()
    st.image(diagram, alt=caption)
    st.caption(caption)
    st.markdown(
        "Two places inside it matter here. The **encoder tap** is the raw 4-D latent $z$: it can have any length. "
        "The **bottleneck tap** is the same vector divided by its length, $\\hat z = z / \\lVert z \\rVert$: it "
        "always has length 1, so every color becomes a point on a 4-D sphere and only its *direction* carries "
        "information."
    )


def four_regularizers() -> None:
    st.header("Four regularizers shape the latent space")
    st.markdown(
        "Besides rebuilding its input (mean squared error), the network pays four penalties, each scaled by a weight "
        "that follows a schedule during training. Some colors in each batch carry noisy labels (*red*, *vibrant*), "
        "drawn at random with these probabilities:"
    )
    label_odds = (
        r"P(\text{red}) = 0.5\,\bigl(r\,(1 - \tfrac{g}{2} - \tfrac{b}{2})\bigr)^{10}",
        r"P(\text{vibrant}) = 0.5\,(S \cdot V)^{100}",
    )
    for col, formula in zip(st.columns(2), label_odds):  # side by side on a wide screen, one under the other on a phone
        col.latex(formula)
    for left_term, right_term in ((anchor, separate), (planarity, unitarity)):
        left, right = st.columns(2, gap="large")
        with left:
            left_term()
        with right:
            right_term()


def anchor() -> None:
    st.subheader("Anchor")
    st.latex(r"R_\text{anchor} = \operatorname{mean}_{\text{red-labelled}} \lVert z - c \rVert^2")
    st.markdown("Pulls every color labelled *red* toward the chosen direction $c = (1,0,0,0)$.")
    chart, caption = caches.frozen_chart("hypothesis.anchor", regularizers.anchor_penalty_chart)
    caches.show_chart(chart, alt=caption)
    st.caption(caption)


def separate() -> None:
    st.subheader("Separate")
    st.latex(
        r"R_\text{separate} = \operatorname{mean}_i \sum_{j \ne i} \Bigl(\frac{1 + \cos\theta_{ij}}{2}\Bigr)^{100}"
    )
    st.markdown(
        "Pushes latents that point almost the same way apart, so colors spread over the sphere. It only uses the "
        "cosines between latents (it divides each by its length itself), so it gives the same value on either tap. "
        + diagrams.SEPARATE_ROUNDING_NOTE
    )
    chart, caption = caches.frozen_chart("hypothesis.kernel", regularizers.separate_kernel_chart)
    caches.show_chart(chart, alt=caption)
    st.caption(caption)


def planarity() -> None:
    st.subheader("Planarity")
    st.latex(r"R_\text{planar} = \operatorname{mean}_{\text{vibrant-labelled}} \bigl(z_2^2 + z_3^2\bigr)")
    st.markdown(
        "Flattens the vivid colors into the plane of dimensions 0 and 1, where they can form a color wheel "
        "with red at the top."
    )


def unitarity() -> None:
    st.subheader("Unitarity")
    st.latex(r"R_\text{unit} = \operatorname{mean}_i \bigl(\lVert z_i \rVert - 1\bigr)^2")
    st.markdown(
        "Keeps the raw latents close to length 1, so that dividing by the length changes them only a little. "
        "It always reads the encoder tap: after normalization every length is exactly 1 and it would have nothing "
        "to do."
    )


def the_claim() -> None:
    st.header("The claim being tested")
    st.markdown(
        "Anchor, separate and planarity are meant to be about **angles**: which way a latent points. Separate already "
        "is: it uses only cosines, so it computes the same value, and pushes the same way, on either tap. Anchor and "
        "planarity are not: before the normalization (the encoder tap) they also see the latent's length, which the "
        "decoder throws away — the anchor chart above shows a short latent pointing straight at red still paying a "
        "penalty. After the normalization (the bottleneck tap) they see exactly what the decoder sees. So the real "
        "difference between the two placements is where **anchor and planarity** look."
    )
    st.info(
        "**Hypothesis (Ex 2.4):** moving anchor, separate and planarity *after* the normalization shapes the latent "
        "space better than applying them *before* it (Ex 2.3): lower reconstruction error and a more regular "
        "layout of colors. (Separate moves too, but it gives the same value on either tap: in practice this tests "
        "anchor and planarity.)",
        icon="🧪",
    )
    st.markdown(
        "The original notebook found a small improvement on one training run (max error "
        f"{fmt(notebook.NOTEBOOK[('post', 'baseline')]['max'])} post-norm against "
        f"{fmt(notebook.NOTEBOOK[('pre', 'baseline')]['max'])} pre-norm) and called it hard to be sure. Here "
        "both versions train on the same seed, with the same batches and labels, so placement is the only difference."
    )


def make_your_prediction() -> None:
    st.header("Make your prediction")
    classroom.ask("placement")  # in a class (?class=…), also one anonymous vote in the class's tally
    if st.session_state.get("prediction"):
        st.page_link("pages/placement.py", label="See whether you were right: Regularizer placement", icon="📍")
    else:
        st.caption("Pick one: the next page, Regularizer placement, measures it and tells you.")


def teach_a_class() -> None:
    """Start a class: a code for the students and a key for the teacher, then the projector. (Not offered to a
    student who came with a class's link.)"""
    code = classroom.class_code()
    if code is not None and not teacher.is_teacher(code):
        return
    st.header("Teach a class")
    st.markdown(
        "Lead a class through these pages: students join with a link or a QR code, vote before each reveal, see "
        "the class's split when you show it, and follow you from page to page."
    )
    with st.form("teach_a_class", border=False):
        name = st.text_input("Name of the class", placeholder="year-9b", max_chars=19)
        started = st.form_submit_button("Start a class", icon="🏫")
    if started and (made := teacher.start_class(name)):
        st.session_state["_started_class"] = made
        classroom.join_class(made[0])
        st.rerun()  # the sidebar shows the new class and the projector's link
    if made := st.session_state.get("_started_class"):
        code, key = made
        st.success(f"Class **{code}** started. Your teacher link (keep it private: it holds your key):", icon="🎓")
        st.code(teacher.teacher_link(code, key), language=None, wrap_lines=True)
        st.page_link(teacher.PROJECTOR, label="Open the projector", icon="📽️", query_params={"class": code})


def main() -> None:
    introduction()
    training_notice()
    the_network()
    four_regularizers()
    the_claim()
    make_your_prediction()
    teach_a_class()
    frame.finish()


if __name__ == "__main__":  # a visit of the landing page
    main()
else:  # `streamlit run app.py` at the server's start (see the module docstring)
    app = st.App(__file__, lifespan=warmup.lifespan)
