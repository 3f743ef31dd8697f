"""Lesson 7's quiz (course_utils.quiz.take_quiz(7)): crayon drawings from words.

Tokens and the null prompt, the mean word vector through an MLP added to the time embedding (eq. 7.1), negative
prompts (eq. 7.2), seen against unseen pairs, and why position-free word vectors cannot bind a colour to an object.
"""

from course_utils.quiz import Choice, Question

QUESTIONS = (
    Question(
        kind="concept",
        prompt=(
            "Section 2 writes a two-object prompt both ways round, 'red house blue boat' and 'blue house red boat', "
            "with the model's own word vectors, and compares three things: (a) the mean of eq. 7.1, (b) a "
            "cross-attention layer of 64 pixel queries over the word vectors, (c) the same layer with a different "
            "position vector added to each slot. Which of them tell the two prompts apart?"
        ),
        choices=(
            Choice(
                "(b) and (c): attention is how Stable Diffusion binds colours to objects; only the mean loses order.",
                why=(
                    "Tempting: cross-attention is what the large systems use. But its output is a weighted sum over "
                    "the words, and each word's weight depends only on its own vector and the query: swap two words "
                    "and you swap two terms of the same sum (the lesson measures a difference below $10^{-5}$). "
                    "Stable Diffusion gets word order from its text encoder's position embeddings, and even so it "
                    "often binds a colour to the wrong object (Chefer et al. 2023)."
                ),
            ),
            Choice(
                "Only (c): the mean and the attention are sums over the words, blind to their order.",
                correct=True,
                why=(
                    "Both prompts hold the same four words, and a sum does not care about order. A position "
                    "vector per slot makes 'red' in slot 1 a different vector from 'red' in slot 3, which is the "
                    "first thing binding a colour to its object needs."
                ),
            ),
            Choice(
                "All three: the token ids arrive in a different order, so everything computed from them differs.",
                why=(
                    "Tempting: the ids really are `[4, 13, 8, 16]` against `[8, 13, 4, 16]`. But the mean and the "
                    "attention see them only through the words' vectors, summed: the same set of words gives the "
                    "same result, to rounding."
                ),
            ),
            Choice(
                "None: the same position vectors are added to both prompts, so in (c) they cancel too.",
                why=(
                    "Tempting: the position vectors are indeed identical for both prompts. But in each slot they "
                    "meet a different word ('red' + slot 1 against 'blue' + slot 1), so the sums over the slots "
                    "differ; the lesson measures a clear difference."
                ),
            ),
        ),
    ),
    Question(
        kind="equation",
        prompt=(
            "Ask for $p$ = 'a purple house' and away from $p_{\\text{neg}}$ = 'a blue house', with $w = 3$. "
            "Which noise guess is eq. 7.2?"
        ),
        choices=(
            Choice(
                "$\\epsilon(x_t, t, \\text{null}) + w\\,\\big(\\epsilon(x_t, t, p) - "
                "\\epsilon(x_t, t, \\text{null})\\big) - w\\,\\epsilon(x_t, t, p_{\\text{neg}})$",
                why=(
                    "Tempting: keep Lesson 5's guidance and subtract what you do not want. But it subtracts a whole "
                    "noise guess, not a difference of two: the result is no longer a noise guess of the right size "
                    "(at $w = 3$ it is off by about three of them). Eq. 7.2 puts the negative prompt where the null "
                    "prompt stood."
                ),
            ),
            Choice(
                "$\\epsilon(x_t, t, p) + w\\,\\big(\\epsilon(x_t, t, p) - \\epsilon(x_t, t, p_{\\text{neg}})\\big)$",
                why=(
                    "Tempting: start from the request and push away from the negative. But this is "
                    "$(1 + w)\\,\\epsilon_p - w\\,\\epsilon_{\\text{neg}}$, Lesson 5's off-by-one: the course's "
                    "$w + 1$. Eq. 7.2 starts from the prompt you guide away from."
                ),
            ),
            Choice(
                "$\\epsilon(x_t, t, p_{\\text{neg}}) + w\\,\\big(\\epsilon(x_t, t, p) - \\epsilon(x_t, t, "
                "p_{\\text{neg}})\\big)$",
                correct=True,
                why=(
                    "Lesson 5's eq. 5.2 with the null prompt's place taken by the negative prompt. It pulls "
                    "towards 'a purple house' and away from 'a blue house'; with $p_{\\text{neg}}$ = null it is "
                    "eq. 5.2 again. Stable Diffusion's 'negative prompt' is exactly this."
                ),
            ),
        ),
    ),
    Question(
        kind="bug",
        prompt=(
            "A learner's Exercise 7.2. `ids` is (N, 3), padding is id 0, the null prompt is `[1, 0, 0]`, and `table` "
            "is the (17, 128) word table, whose padding row is zero. Exactly one line is wrong. Which?"
        ),
        code=(
            "is_word = (ids != 0).to(table.dtype)                  # (N, 3): 1 for a word, 0 for padding\n"
            "total = (table[ids] * is_word[..., None]).sum(dim=1)  # (N, 128)\n"
            "mean = total / ids.shape[1]                           # (N, 128)"
        ),
        choices=(
            Choice(
                "Line 1: it must leave out id 1 as well: the null prompt means 'no request', like padding.",
                why=(
                    "Tempting: both sound like 'nothing'. But `<null>` is a real word, with a learned vector that "
                    "*is* what 'no request' means to the model; leave it out and the null prompt has no words "
                    "left, and its mean is 0/0."
                ),
            ),
            Choice(
                "Line 3: divide by the number of words, `is_word.sum(1, keepdim=True)`, not by the 3 slots.",
                correct=True,
                why=(
                    "Padding adds nothing to the sum but is counted in the divisor: 'red house' would get 2/3 "
                    "of its mean, the null prompt 1/3 of its vector, so a prompt's vector would shrink with the "
                    "number of slots left empty."
                ),
            ),
            Choice(
                "None: the padding row is zero, so dividing by the 3 slots averages over the words anyway.",
                why=(
                    "Tempting: the zero row does leave the *sum* unchanged, which is why line 2's mask is only a "
                    "safeguard. But a mean divides by how many things were summed, and that is the number of real "
                    "words, 1 to 3, not always 3."
                ),
            ),
        ),
    ),
    Question(
        kind="predict",
        prompt=(
            "The journey slider for 'a purple tree', a pair the model never saw, with deterministic DDIM and 20 "
            "steps; on the right, the model's guess $\\hat x_0$ of the finished drawing at each step. Predict the "
            "order in which the drawing appears there."
        ),
        choices=(
            Choice(
                "The colour first, a purple blob, and the shape of the tree settling after it.",
                correct=True,
                why=(
                    "Coarse to fine, as Lesson 4 measured. The colour of a large region lives in the low "
                    "frequencies, which come back first; the tree's shape, its edges and outline, is finer and "
                    "settles later."
                ),
            ),
            Choice(
                "An outline first, then the colour filled in bit by bit, as a child colours in a picture.",
                why=(
                    "Tempting: it is how people draw, and the brief speaks of 'adding colour bit by bit'. But the "
                    "walk back goes coarse to fine (Lesson 4): a patch of colour is the coarsest thing in the "
                    "picture and settles first, while an outline is fine detail and settles last."
                ),
            ),
            Choice(
                "A green tree first, turning purple at the end: it never saw a purple tree, so it starts from ones "
                "it knows.",
                why=(
                    "Tempting: the model never drew a purple tree in training. But the prompt's vector is added to "
                    "the time embedding at every step, from the first, and the model learned 'purple' and 'tree' as "
                    "separate ingredients: unseen pairs come out about as well as seen ones."
                ),
            ),
            Choice(
                "Nothing recognisable until the last steps, when the whole drawing appears at once.",
                why=(
                    "Tempting: the samples $x_t$ on the left stay noisy until late. But $\\hat x_0$ is the model's "
                    "guess of the *finished* drawing at every step, and its coarse part, the colour, settles long "
                    "before the end."
                ),
            ),
        ),
    ),
    Question(
        kind="plot",
        prompt=(
            "Section 5's table asks for 20 test prompts (red, yellow, green and blue on every object) and the pairs "
            "never drawn for training (a green sun, an orange house, a purple tree, a brown flower, a black boat), "
            "32 drawings each, and reads colour and object back. If the model only copied its training pictures, "
            "the unseen rows would fail. What does the table show?"
        ),
        choices=(
            Choice(
                "Unseen rows about as right as the seen ones: 'purple' and 'tree' learned apart, then combined.",
                correct=True,
                why=(
                    "The lesson asserts the unseen pairs no more than 15 points below the seen ones. Each colour was "
                    "seen on other objects and each object in other colours; the model combines them. That is why a "
                    "mean of word vectors added to the time embedding is enough for one colour and one object."
                ),
            ),
            Choice(
                "Unseen rows right only about 1 time in 40, as for drawings made with no request at all ($w = 0$).",
                why=(
                    "Tempting: 1 in 40 is chance for 40 pairs, and drawings without a request match a prompt about "
                    "2 % of the time. But that is the $w = 0$ baseline; asked for an unseen pair, the model draws it "
                    "nearly as well as a seen one."
                ),
            ),
            Choice(
                "Unseen rows with the right object in a colour it was trained with, e.g. a green tree.",
                why=(
                    "Tempting: falling back on a familiar pair sounds like what a copier would do. But the unseen "
                    "pairs are read back with the right colour *and* object about as often as the seen ones: the "
                    "colour word works on any object."
                ),
            ),
        ),
    ),
    Question(
        kind="concept",
        prompt=(
            "Guidance needs $\\epsilon(x_t, t, \\text{null})$. In this lesson, what is the null prompt, and where "
            "does its meaning come from?"
        ),
        choices=(
            Choice(
                "All padding, `[0, 0, 0]`: a request with no words, the zero vector.",
                why=(
                    "Tempting: 'no request' sounds like 'no words'. But the mean of eq. 7.1 divides by the number "
                    "of real words, 0 here: 0/0. The null prompt is `[1, 0, 0]`, the word `<null>`, then padding."
                ),
            ),
            Choice(
                "The mean of all 17 word vectors: the average request stands for no request.",
                why=(
                    "Tempting: an average sounds neutral. But the model never sees that vector in training, so it "
                    "means nothing to it; 'no request' is learned, from the drawings that were trained without "
                    "their prompt."
                ),
            ),
            Choice(
                "The word `<null>`, whose row is held at zero like padding's, so the MLP of eq. 7.1 sees only zeros.",
                why=(
                    "Tempting: the padding row is zero and stays zero. But only padding's row is held at zero; "
                    "`<null>`'s row is learned like any word's, and the MLP of eq. 7.1 sees that vector."
                ),
            ),
            Choice(
                "The word `<null>` (id 1), then padding: a learned vector, given to 10 % of the training drawings.",
                correct=True,
                why=(
                    "`label_dropout=0.1` gives each training drawing a 1 in 10 chance of the null prompt in "
                    "place of its own (Lesson 5's eq. 5.1), so `<null>`'s row learns what a drawing looks like "
                    "when nothing was asked: the unconditional guess that guidance starts from."
                ),
            ),
        ),
    ),
)
