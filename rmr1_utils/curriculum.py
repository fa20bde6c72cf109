"""A judging curriculum a 135M model can learn: verifiable pair families, seeded, in exact RM-R1 prompts.

Each *family* writes a short question with one correct and one plausibly wrong answer, plus what a
rule teacher (:mod:`rmr1_utils.rule_teacher`) needs to write an exact chain-of-rubrics trace: the
judge's own ``solution`` and the verbatim ``quote`` of each answer. The right verdict is reachable
by what a small model can do — copy a word from a given position, copy a number and append zeros,
match two short strings, recall a single common fact — so the judge can learn *to judge* instead of
learning a shortcut.

Why these tasks. A first trial fine-tuned the embedded SmolLM2-135M-Instruct on rule-written traces
for two-digit addition pairs. It learned the format perfectly but not the verdict: it could not add,
so its ``<solution>`` copied Chatbot B's answer and its verdict was always B (accuracy 0.5, position
consistency 0). A verdict is learnable only when the judge can reach the answer, so every family
here can be solved by copying or by one known fact, and the correct answer is stated in exactly the
words of the judge's solution (the correct quote *equals* the solution, the wrong one differs in one
place).

Splits without leakage: an item's ``key`` (the question, or the fact for fact families) is hashed
into one of ten buckets; ``part="train"`` draws from buckets 0–7 and ``part="test"`` from 8–9, so an
in-family held-out item never repeats a training question (or a training fact) whatever the seeds.
Whole families can be held out too (the recipe lists which families train and which are only
evaluated), which measures whether the *procedure* transfers.

How we differ from the paper: RM-R1 distils traces of real preference data (Skywork, Code-Preference,
Math-Step-DPO) from Claude/o3 into 7B–32B models. A 135M model cannot judge that data; this
curriculum exists so a learner can watch the recipe work on a laptop. The traces follow the exact
RM-R1 output format; only the tasks are smaller.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rmr1_utils.converters import make_pair

SOURCE = "curriculum"

#: Which part of the key space an item may come from (see the module docstring). ``all`` is for
#: families held out whole: none of their items is ever trained on.
PARTS = {"train": range(0, 8), "test": range(8, 10), "all": range(0, 10)}


@dataclass(frozen=True)
class Item:
    """One generated comparison, before it becomes a pair.

    Attributes:
        question: the client's question.
        correct: the better response.
        wrong: the worse response (one plausible mistake).
        solution: what the judge writes in ``<solution>``: the correct answer in the exact words
            of :attr:`correct_quote`, optionally after one short working step.
        correct_quote: the part of ``correct`` the judge quotes (verbatim).
        wrong_quote: the part of ``wrong`` the judge quotes (verbatim).
        key: what must not repeat across parts (the question, or the fact asked about).
        domain: ``math`` or ``chat`` (for balancing and reports).
    """

    question: str
    correct: str
    wrong: str
    solution: str
    correct_quote: str
    wrong_quote: str
    key: str
    domain: str = "chat"


# ---------------------------------------------------------------------------------------------
# Word banks (written for this project)
# ---------------------------------------------------------------------------------------------


def _table(text: str) -> tuple[tuple[str, ...], ...]:
    """Rows of ``a|b|c`` lines (a word bank that reads as a table)."""
    return tuple(tuple(line.split("|")) for line in text.strip().splitlines())


NAMES = tuple(
    """
    Maya Leo Priya Omar Anna Kofi Lena Ravi Sofia Tom Elena Jonas Hana Felix Amara Ben
    """.split()
)
NOUNS = tuple(
    """
    fence garden river window basket letter bridge candle forest ladder market pillow rocket saddle
    tunnel violin wagon anchor blanket cabin castle desert engine harbor island jacket kettle lantern
    meadow mirror orchard parcel puzzle school station teapot
    """.split()
)
ADJECTIVES = tuple(
    """
    old red quiet small bright heavy green wooden empty tall cold shiny broken yellow narrow soft round
    dusty gentle silver
    """.split()
)
VERBS = tuple(
    """
    paints carries cleans finds opens draws fixes visits watches sells builds moves
    """.split()
)
ITEMS = tuple(
    """
    apples pears books coins shells stamps pencils cards marbles stickers eggs cups
    """.split()
)

#: Unit conversions whose factor is a power of ten: the answer is the number with zeros appended.
UNITS = (
    ("metres", "centimetres", 100),
    ("kilometres", "metres", 1000),
    ("kilograms", "grams", 1000),
    ("litres", "millilitres", 1000),
    ("centimetres", "millimetres", 10),
    ("metres", "millimetres", 1000),
)

#: Facts a 135M instruct model mostly knows (country|capital|its best-known other city;
#: word|opposite|a related word that is not its opposite; word|plural|the regular-looking mistake).
CAPITALS = _table(
    """
France|Paris|Lyon
Japan|Tokyo|Osaka
Egypt|Cairo|Alexandria
Germany|Berlin|Munich
Spain|Madrid|Barcelona
Italy|Rome|Milan
England|London|Manchester
Russia|Moscow|Saint Petersburg
China|Beijing|Shanghai
Canada|Ottawa|Toronto
Australia|Canberra|Sydney
India|New Delhi|Mumbai
Brazil|Brasilia|Rio de Janeiro
Turkey|Ankara|Istanbul
Greece|Athens|Thessaloniki
Portugal|Lisbon|Porto
Ireland|Dublin|Cork
Norway|Oslo|Bergen
Sweden|Stockholm|Gothenburg
Poland|Warsaw|Krakow
Kenya|Nairobi|Mombasa
Mexico|Mexico City|Guadalajara
Argentina|Buenos Aires|Cordoba
Peru|Lima|Cusco
Austria|Vienna|Salzburg
Scotland|Edinburgh|Glasgow
Morocco|Rabat|Casablanca
Vietnam|Hanoi|Ho Chi Minh City
South Korea|Seoul|Busan
Switzerland|Bern|Zurich
the Netherlands|Amsterdam|Rotterdam
Belgium|Brussels|Antwerp
Denmark|Copenhagen|Aarhus
Finland|Helsinki|Tampere
Hungary|Budapest|Debrecen
Nigeria|Abuja|Lagos
Pakistan|Islamabad|Karachi
Thailand|Bangkok|Chiang Mai
Indonesia|Jakarta|Surabaya
the Philippines|Manila|Cebu
Chile|Santiago|Valparaiso
Colombia|Bogota|Medellin
Cuba|Havana|Santiago de Cuba
Iran|Tehran|Isfahan
Iraq|Baghdad|Basra
Israel|Jerusalem|Tel Aviv
Saudi Arabia|Riyadh|Jeddah
South Africa|Pretoria|Johannesburg
New Zealand|Wellington|Auckland
the United States|Washington|New York
Ukraine|Kyiv|Odesa
the Czech Republic|Prague|Brno
Romania|Bucharest|Cluj
Ethiopia|Addis Ababa|Dire Dawa
Ghana|Accra|Kumasi
Wales|Cardiff|Swansea
"""
)
OPPOSITES = _table(
    """
hot|cold|warm
big|small|huge
up|down|above
fast|slow|quick
happy|sad|glad
light|dark|bright
open|closed|wide
old|young|ancient
full|empty|heavy
early|late|soon
wet|dry|damp
hard|soft|tough
rich|poor|wealthy
tall|short|high
strong|weak|powerful
clean|dirty|neat
loud|quiet|noisy
thick|thin|wide
win|lose|beat
buy|sell|pay
day|night|noon
begin|end|start
give|take|offer
left|right|west
inside|outside|within
push|pull|press
true|false|real
first|last|second
near|far|close
love|hate|like
good|bad|nice
high|low|tall
new|old|fresh
short|long|small
black|white|dark
cheap|expensive|free
arrive|leave|come
asleep|awake|tired
north|south|east
summer|winter|spring
question|answer|problem
above|below|over
friend|enemy|neighbor
remember|forget|recall
sweet|sour|salty
laugh|cry|smile
safe|dangerous|secure
easy|difficult|simple
empty|full|hollow
heavy|light|large
"""
)
PLURALS = _table(
    """
mouse|mice|mouses
child|children|childs
foot|feet|foots
tooth|teeth|tooths
man|men|mans
woman|women|womans
goose|geese|gooses
person|people|persons
knife|knives|knifes
leaf|leaves|leafs
wolf|wolves|wolfs
box|boxes|boxs
city|cities|citys
baby|babies|babys
sheep|sheep|sheeps
fish|fish|fishes
ox|oxen|oxes
life|lives|lifes
half|halves|halfs
bus|buses|bus
glass|glasses|glass
potato|potatoes|potatos
hero|heroes|heros
wife|wives|wifes
loaf|loaves|loafs
deer|deer|deers
cactus|cacti|cactuss
church|churches|churchs
story|stories|storys
dish|dishes|dishs
calf|calves|calfs
shelf|shelves|shelfs
thief|thieves|thiefs
louse|lice|louses
die|dice|dies
fungus|fungi|funguses
crisis|crises|crisises
analysis|analyses|analysises
tomato|tomatoes|tomatos
echo|echoes|echos
lady|ladies|ladys
party|parties|partys
fox|foxes|foxs
watch|watches|watchs
brush|brushes|brushs
class|classes|class
quiz|quizzes|quizs
moose|moose|mooses
salmon|salmon|salmons
scarf|scarves|scarfs
"""
)


# ---------------------------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------------------------


def _sentence(rng: random.Random) -> list[str]:
    """A short sentence as words, e.g. ``Maya paints the old fence near the river``."""
    name, verb = rng.choice(NAMES), rng.choice(VERBS)
    adjective = rng.choice(ADJECTIVES)
    noun, place = rng.sample(NOUNS, 2)
    words = [name, verb, "the", adjective, noun]
    if rng.random() < 0.5:
        words += ["near", "the", place]
    return words


def _word_position(rng: random.Random, which: str) -> Item:
    words = _sentence(rng)
    target = words[-1] if which == "last" else words[0]
    wrong = rng.choice([w for w in words if w not in (target, "the", "near")])
    sentence = " ".join(words)
    correct_text, wrong_text = f"The {which} word is {target}.", f"The {which} word is {wrong}."
    question = f"What is the {which} word of this sentence: {sentence}?"
    return Item(question, correct_text, wrong_text, correct_text, correct_text, wrong_text, key=question)


def last_word(rng: random.Random) -> Item:
    """Copy the last word of a sentence (wrong: another word of it)."""
    return _word_position(rng, "last")


def first_word(rng: random.Random) -> Item:
    """Copy the first word of a sentence (wrong: another word of it)."""
    return _word_position(rng, "first")


def last_item(rng: random.Random) -> Item:
    """Copy the last item of a list (wrong: another item of it)."""
    items = rng.sample(NOUNS, rng.randint(3, 5))
    target, wrong = items[-1], rng.choice(items[:-1])
    question = f"What is the last item in this list: {', '.join(items)}?"
    right_text, wrong_text = f"The last item is {target}.", f"The last item is {wrong}."
    return Item(question, right_text, wrong_text, right_text, right_text, wrong_text, key=question)


def echo(rng: random.Random) -> Item:
    """Repeat a phrase exactly (wrong: one word swapped for another)."""
    phrase = [rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(("at", "by", "on", "under")), "the", rng.choice(NOUNS)]
    k = rng.choice([0, 1, 4])
    bank = ADJECTIVES if k == 0 else NOUNS
    changed = list(phrase)
    changed[k] = rng.choice([w for w in bank if w != phrase[k]])
    right, wrong = " ".join(phrase), " ".join(changed)
    question = f"Repeat this phrase exactly: {right}"
    return Item(question, right, wrong, right, right, wrong, key=question)


def count_of(rng: random.Random) -> Item:
    """Read a number from a sentence that gives two (wrong: the other number)."""
    name = rng.choice(NAMES)
    first, second = rng.sample(ITEMS, 2)
    a, b = rng.sample(range(2, 30), 2)
    asked, other = (second, a) if rng.random() < 0.5 else (first, b)
    value = b if asked == second else a
    question = f"{name} has {a} {first} and {b} {second}. How many {asked} does {name} have?"
    right, wrong = f"{name} has {value} {asked}.", f"{name} has {other} {asked}."
    return Item(question, right, wrong, right, right, wrong, key=question, domain="math")


def units(rng: random.Random) -> Item:
    """Convert with a power-of-ten factor: append zeros (wrong: one zero too few or too many)."""
    big, small, factor = rng.choice(UNITS)
    n = rng.randint(2, 60)
    right_value = n * factor
    wrong_value = n * factor // 10 if rng.random() < 0.5 or factor == 10 else n * factor * 10
    if wrong_value == n:
        wrong_value = n * factor * 10
    question = f"How many {small} are in {n} {big}?"
    right, wrong = f"{n} {big} is {right_value} {small}.", f"{n} {big} is {wrong_value} {small}."
    solution = f"1 {big[:-1] if big.endswith('s') else big} is {factor} {small}, so {right}"
    return Item(question, right, wrong, solution, right, wrong, key=question, domain="math")


def capital(rng: random.Random) -> Item:
    """Name a country's capital (wrong: its best-known other city)."""
    country, city, other = rng.choice(CAPITALS)
    right, wrong = f"The capital of {country} is {city}.", f"The capital of {country} is {other}."
    return Item(f"What is the capital of {country}?", right, wrong, right, right, wrong, key=f"capital:{country}")


def opposite(rng: random.Random) -> Item:
    """Name a word's opposite (wrong: a related word that is not its opposite)."""
    word, right_word, wrong_word = rng.choice(OPPOSITES)
    right, wrong = f"The opposite of {word} is {right_word}.", f"The opposite of {word} is {wrong_word}."
    return Item(f"What is the opposite of {word}?", right, wrong, right, right, wrong, key=f"opposite:{word}")


def plural(rng: random.Random) -> Item:
    """Give an irregular plural (wrong: the regular-looking mistake)."""
    word, right_word, wrong_word = rng.choice(PLURALS)
    right, wrong = f"The plural of {word} is {right_word}.", f"The plural of {word} is {wrong_word}."
    return Item(f"What is the plural of {word}?", right, wrong, right, right, wrong, key=f"plural:{word}")


#: The families, by name.
FAMILIES: dict[str, Callable[[random.Random], Item]] = {
    "last-word": last_word,
    "first-word": first_word,
    "last-item": last_item,
    "echo": echo,
    "count-of": count_of,
    "units": units,
    "capital": capital,
    "opposite": opposite,
    "plural": plural,
}


def key_bucket(key: str) -> int:
    """The bucket (0–9) of an item's key: stable across runs and platforms (sha1, not ``hash``)."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % 10


def curriculum_pairs(
    families: Sequence[str], n: int, seed: int = 0, part: str = "train", exclude: set[str] | None = None
) -> list[dict]:
    """``n`` distinct verifiable pairs from ``families`` (round-robin), keys drawn from ``part``.

    Args:
        families: family names (see :data:`FAMILIES`), cycled in this order.
        n: how many pairs.
        seed: the seed (same seed, same pairs).
        part: ``"train"`` or ``"test"``: which key buckets items may come from (disjoint).
        exclude: questions not to produce (e.g. those already in another split).

    Returns:
        Preference pairs (``source="curriculum/<family>"``) carrying ``verifiable`` for the rule
        teacher: ``family``, ``type`` (``Reasoning``), ``solution``, ``chosen_quote``,
        ``rejected_quote``. Fewer than ``n`` only when a family runs out of distinct items (then
        the others fill in).

    Raises:
        ValueError: an unknown family or part.
    """
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise ValueError(f"unknown curriculum families {unknown or '(none given)'}: expected some of {', '.join(FAMILIES)}")
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}: expected one of {', '.join(PARTS)}")
    rng = random.Random(f"{seed}:{part}")
    buckets = PARTS[part]
    seen = set(exclude or ())
    pairs: list[dict] = []
    exhausted: set[str] = set()
    misses = {f: 0 for f in families}
    k = 0
    while len(pairs) < n and len(exhausted) < len(families):
        family = families[k % len(families)]
        k += 1
        if family in exhausted:
            continue
        item = FAMILIES[family](rng)
        if item.question in seen or key_bucket(item.key) not in buckets:
            misses[family] += 1
            if misses[family] > 400:  # a small fact table has no more distinct items in this part
                exhausted.add(family)
            continue
        misses[family] = 0
        seen.add(item.question)
        pair = make_pair(f"{SOURCE}/{family}", item.domain, item.correct, item.wrong, prompt=item.question)
        pair["verifiable"] = {
            "family": family,
            "type": "Reasoning",
            "solution": item.solution,
            "chosen_quote": item.correct_quote,
            "rejected_quote": item.wrong_quote,
        }
        pairs.append(pair)
    return pairs
