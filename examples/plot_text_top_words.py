"""
Topics of a text mixture: top words
===================================

A multinomial mixture treats each document as a bag of words drawn from one of
``K`` word distributions (a *topic* per component). Fitted to a term-count
matrix (kept sparse, as scikit-learn's ``CountVectorizer`` makes it), each
component's ``probabilities_`` row is its distribution over the vocabulary; its
most probable words name the topic.

The corpus here is a small invented one, made in the script (nothing is
downloaded): short documents on cooking, astronomy and football.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from mixtura import MultinomialMixture

topics = {
    "cooking": "oven flour butter sugar bake recipe dough salt pan boil garlic onion",
    "astronomy": "star planet orbit telescope galaxy moon comet light sky nebula sun",
    "football": "goal match team player score league coach pitch ball referee cup",
}
rng = np.random.default_rng(0)
documents, truth = [], []
for label, words in enumerate(topics.values()):
    vocabulary = words.split()
    for _ in range(40):
        documents.append(" ".join(rng.choice(vocabulary, size=rng.integers(8, 20))))
        truth.append(label)
print(documents[0])

vectorizer = CountVectorizer()
counts = vectorizer.fit_transform(documents)  # scipy.sparse, kept sparse
words = vectorizer.get_feature_names_out()

model = MultinomialMixture(n_components=3, n_init=3, random_state=0).fit(counts)
labels = model.predict(counts)

# %%
# Each component's five most probable words:

top = np.argsort(model.probabilities_, axis=1)[:, ::-1][:, :5]
for k, row in enumerate(top):
    print(f"component {k} (weight {model.weights_[k]:.2f}):", ", ".join(words[row]))

# %%
# The same as bar charts: the probability of each of the eight top words.

fig, axes = plt.subplots(1, 3, figsize=(11, 3.5))
for k, ax in enumerate(axes):
    order = np.argsort(model.probabilities_[k])[::-1][:8]
    ax.barh(words[order][::-1], model.probabilities_[k, order][::-1])
    ax.set_title(f"component {k}")
    ax.set_xlabel("word probability")
fig.tight_layout()
plt.show()
