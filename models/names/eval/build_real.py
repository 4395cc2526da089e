#!/usr/bin/env python3
"""Build real-labels.jsonl: a small hand-checked evaluation set of REAL text for the
person-name tagger.

Standard library only.  The source texts are NOT copied: every label line stores the
source file, the 0-based line number ("row") in the decompressed JSONL file, the
code-point offsets of the excerpt inside that row's "text", and the name spans
relative to the excerpt.  check_real.py reads the texts back from DATA_DIR.

How an item is written below (all choices were made by reading the text by hand):

  E(file, row, kind, lang, names, a=..., b=..., span=(s, e))

  * excerpt = whole row text (leading/trailing whitespace trimmed) unless
      - span=(s, e)   code-point offsets in the row text, or
      - a="...", b="..."  the excerpt starts at the first occurrence of `a` and ends
        after the first occurrence of `b` at or after that start.
  * names: list of surface strings.  Every occurrence of the string inside the excerpt
    is labelled (case-sensitive, not inside a longer Latin/Greek/Cyrillic word, longer
    names win over shorter overlapping ones), unless given as (string, [k, ...]) in
    which case only the k-th valid occurrences (0-based) are labelled.
    The script fails if a listed name is not found.

The labelling rules (honorifics and generational suffixes excluded, titles of works,
companies, eponyms, deities, user names and e-mail addresses not labelled, ...) are
written down in README.md next to this file.

Run:  python3 build_real.py [--data DIR] [--out FILE]
"""
import argparse
import gzip
import json
import os
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
# ../shared/datasets beside the checkout (models/names/eval -> the checkout is three levels up).
DEFAULT_DATA = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "shared", "datasets"))

ITEMS = []


def E(file, row, kind, lang, names, a=None, b=None, span=None, note=None):
    ITEMS.append(dict(file=file if file.endswith(".jsonl.gz") else file + ".jsonl.gz",
                      row=row, kind=kind, lang=lang, names=names, a=a, b=b, span=span,
                      note=note))


# ---------------------------------------------------------------------------
# gsm8k: math word problems (prompt, en)
# ---------------------------------------------------------------------------
G = "gsm8k"
E(G, 34, "prompt", "en", ["Sam", "Ken", "Tony"])            # "Mr. Sam": honorific excluded
E(G, 464, "prompt", "en", ["Frankie", "Carla"])
E(G, 565, "prompt", "en", ["Tracy", "Michelle", "Kati", "Katie"])
E(G, 3110, "prompt", "en", ["Lopez"])                        # "Mrs. Lopez"
E(G, 4747, "prompt", "en", ["Banks"])                        # "Dr. Banks"
E(G, 6623, "prompt", "en", ["Steven", "Darrel"])             # "Farmer Steven"
E(G, 7090, "prompt", "en", ["Stacy", "Steve", "Sylar", "Skylar"])
E(G, 7297, "prompt", "en", ["Lauryn", "Aurelia"])            # eBay: brand
E(G, 8318, "prompt", "en", ["Susan"])                        # "Miss Susan's"
E(G, 416, "prompt", "en", [])                                # Moreland, May/June/July
E(G, 1931, "prompt", "en", [])                               # Japan
E(G, 6915, "prompt", "en", [])                               # NBA
E(G, 7530, "prompt", "en", [])
E(G, 4970, "prompt", "en", [])

# ---------------------------------------------------------------------------
# hh_rlhf_harmless_test: first turns of red-team chats (chat, en)
# ---------------------------------------------------------------------------
H = "hh_rlhf_harmless_test"
E(H, 124, "chat", "en", ["Hilary Clinton", "Bill"])
E(H, 148, "chat", "en", ["J.B. Pritzker"])                   # Hyatt Hotel: company
E(H, 178, "chat", "en", ["Lil Nas X"])                       # stage name
E(H, 276, "chat", "en", ["Carl Icahn"])                      # "Icahn Capital Management": company
E(H, 309, "chat", "en", ["Bernard Saul"])                    # ", II." and "Saul Centers Inc." excluded
E(H, 528, "chat", "en", ["Crowder", "Jesse Lee Peterson"])
E(H, 563, "chat", "en", ["Katie"])                           # Southwest: airline
E(H, 712, "chat", "en", ["Willis"])                          # "Dr Willis"
E(H, 838, "chat", "en", ["Glenda Blackwell"])                # Homer, LA: place
E(H, 1000, "chat", "en", ["Dave Carrier", "Heather Minor"])
E(H, 1005, "chat", "en", ["Robert Downey"])                  # "Jr." excluded
E(H, 1022, "chat", "en", ["William Lauder"])                 # "Estée Lauder" here = the company
E(H, 1402, "chat", "en", ["Lupita Nyong'o"])
E(H, 1464, "chat", "en", ["Van Gogh"])                       # "a Van Gogh painting": the painter
E(H, 1714, "chat", "en", ["Joe Waggoneer"])                  # Plain Dealing, LA: place
E(H, 1400, "chat", "en", ["Trump"])                          # "President Trump"
E(H, 257, "chat", "en", ["donald trump"])                    # lower case
E(H, 1910, "chat", "en", ["Guy Fieri"])
E(H, 65, "chat", "en", [])                                   # Black Lives Matter
E(H, 116, "chat", "en", [])                                  # Orlando Florida
E(H, 130, "chat", "en", [])                                  # Federal Reserve
E(H, 351, "chat", "en", [])                                  # Wells Fargo, Market St
E(H, 422, "chat", "en", [])                                  # Olive Garden Alfredo
E(H, 536, "chat", "en", [])                                  # Naperville Illinois
E(H, 583, "chat", "en", [])                                  # Kappa Kappa Delta, Stanford
E(H, 1177, "chat", "en", [])                                 # Pestell's Champagne Ham (company)
E(H, 1405, "chat", "en", [])                                 # Star Trek
E(H, 2137, "chat", "en", [])                                 # Salvation Army
E(H, 1932, "chat", "en", [])                                 # "the mayor of San Francisco"

# ---------------------------------------------------------------------------
# self_instruct: human-written instructions (user_oriented / seed tasks)
# ---------------------------------------------------------------------------
S = "self_instruct"
E(S, 1, "email", "en", ["Jen"], a="Hi Jen,", b="There's a coffee in it for you!")
E(S, 3, "prompt", "en", ["Vaswani, Ashish", "Shazeer, Noam", "Parmar, Niki", "Uszkoreit, Jakob",
                         "Jones, Llion", "Gomez, Aidan N.", "Kaiser, Lukasz", "Illia Polosukhin"])
E(S, 54, "prompt", "en", ["Jane"])
E(S, 98, "prose", "en", ["Polykleitos", "Luca Pacioli", "Leonardo da Vinci", "Piero della Francesca",
                         "Euclid", "Albrecht Dürer", "M. C. Escher", "H. S. M. Coxeter",
                         "Theo van Doesburg", "Piet Mondrian"],
  a="Mathematics and art have a long historical relationship.",
  b="explicitly embraced geometrical forms.")
E(S, 127, "chat", "fr", ["Lucie", "Lin"], a="Lucie est à la maison", b="pour mon sandwich.")
E(S, 191, "notes", "en", ["Crew Purdie", "Oliver Malachi", "Kolby Reese"],
  a="The conference was called", b="funding for schools.")
E(S, 202, "notes", "en", ["Rose", "John", "Jane", "Tom"], a="Rose: Analyze", b="software bug")
E(S, 254, "prompt", "en", ["Brack Obama", "Elon Musk", "Taylor Swift"])
E(S, 291, "prose", "en", ["Ian Fleming", "James Bond", "Fleming"],
  a="Dr. No is the sixth novel", b="by Jonathan Cape in 1958.")   # "Dr. No" = book title; Jonathan Cape = publisher
E(S, 348, "prompt", "en", ["Michelle Obama"])
E(S, 389, "email", "en", ["Olivia", "Allison"], a="Dear Olivia,", b="Allison")
E(S, 415, "prompt", "en", ["George Washington", "Confucius", "Michael Jordan", "Michelangelo"])
E(S, 326, "prompt", "en", ["Ebony Moore"])                   # e-mail address not labelled
E(S, 80, "prompt", "en", ["Ed Norton", "Tyler Durden"], a="Review 1:", b="escape from their unhappy lives.")
E(S, 6, "email", "en", [], a="Subject: Asking for Vacation Time", b="[Your name]")
E(S, 256, "email", "en", [], a="Hi [person name],", b="[my name]")
E(S, 270, "email", "en", [], a="Dear ARR Reviewer,", b="ARR EiCs")
E(S, 418, "email", "en", [], a="Subject: A $3.50", b="03:29 PM ET")
E(S, 417, "email", "en", [], a="Hello,", b="Human Resources")
E(S, 157, "chat", "en", [], a="Person 1: Hey", b="See you tomorrow!")
E(S, 139, "prompt", "en", [])                                 # book title
E(S, 195, "code", "en", [])                                   # Python / Ruby
E(S, 209, "prompt", "en", [])                                 # San Diego, Los Angeles

# T0/P3 prompt templates inside self_instruct ------------------------------
# SAMSum-style chats (excerpt = the dialogue only)
E(S, 38986, "chat", "en", ["Cisco", "Ruth", "James Veitch", "James"], a="Cisco: So here's", b="Ruth: hahaha")
E(S, 39468, "chat", "en", ["Hal", "Amy", "Alex"], a="Hal: Have you", b="Amy: sure thing dad")
E(S, 39637, "chat", "en", ["Bobby"], a="Dad: Hi Bobby", b="Bobby: Bye, love you")
E(S, 39741, "chat", "en", ["Esme", "Summer", "Jason", "Robert", "Tom", "Amy", "Steve"],
  a="Esme: Did I tell", b="I broke all of his plates.")
E(S, 39767, "chat", "en", ["Dorothy", "Ron", "Lily", "Ronnie"], a="Dorothy: Hi!", b="Doctor Ronnie and Mister Booze")
E(S, 39843, "chat", "en", ["Sam", "Naomi", "rick", "sam"], a="Sam: hey", b="clear the air")
E(S, 40019, "chat", "en", ["Fiona", "Roger", "Ben", "Polly", "Mandy"], a="Fiona: Roger broke", b="Fiona: I'm devastated")
E(S, 39177, "chat", "en", ["Lauren", "Diego"], a="Lauren: Uhh", b="Why did I even write to you??")  # "Summer is too hot": season
# other T0 prompts
E(S, 4087, "prompt", "en", ["Anthony Kirincich"])            # AP, Oregon State University
E(S, 12224, "prompt", "en", ["Lori"], a="Context:", b="everythings already wrapped up imo .")
E(S, 21928, "prompt", "en", ["Mann", "Jimmy Stewart", "Walter Brennan"])
E(S, 30092, "prompt", "en", ["Bigsby"])                       # "Mister Bigsby"
E(S, 51504, "prompt", "en", ["Weinberg"])                     # "Dr. Weinberg"; FOX news
E(S, 6947, "prose", "en", ["Jim Manley", "Harry Reid", "Bush", "Dick Cheney", "Rahm Emanuel",
                           "Steny Hoyer"],
  a="Democrats quickly fired back.", b="working-class American children.\"")
E(S, 6962, "prose", "en", ["Barack Obama", "Hillary Clinton", "Bush", "Obama", "Clinton", "Wolf Blitzer"],
  a="Sen. Barack Obama on Thursday", b="a foreign terrorist group.")
# bullet-point notes (CNN highlights / infobox facts; excerpt = the notes only)
E(S, 6982, "notes", "en", ["Steven Leifman", "Leifman"], a="Mentally ill inmates", b="fighting for change .")
E(S, 7072, "notes", "en", ["Laura Bush", "Aun Sung Suu Kyi"], a="Laura Bush calls", b="Wall Street Journal .")  # misspelt Aung San Suu Kyi
E(S, 7045, "notes", "en", ["Julius Reuter", "Lincoln"], a="Reuters was founded", b="131 countries.")  # Reuters = company (eponym)
E(S, 7101, "notes", "en", ["Lucky Dube", "Dube"], a="South African reggae", b="rugby World Cup final .")
E(S, 7148, "notes", "en", ["Putin"], a="Russian President Putin", b="claims are \"baseless\"")
E(S, 44685, "notes", "en", ["vester pegg"], a="- birth date", b="the life of vester pegg")  # lower case
E(S, 44797, "notes", "en", ["shatty", "jeff shattler"], a="- birth date", b="the life of jeff shattler")  # nickname
E(S, 7121, "notes", "en", [], a="The company owns", b="opened the Sands Macau .")  # Venetian, Las Vegas Sands
E(S, 7050, "notes", "en", [], a="The company has become", b="places to work in the U.S.")  # Qualcomm, Fortune
E(S, 7165, "notes", "en", [], a="R.E.M. song", b="live CD/DVD next week .")
E(S, 2440, "prompt", "en", [], a="Context:", b="Jerusalem and Rome.")
E(S, 2500, "prompt", "en", [])                                # Columbia University, Butler Library
E(S, 3290, "prompt", "en", [])                                # Venus, Sun, SPACE.com
E(S, 3376, "prompt", "en", [])                                # USATODAY.com
E(S, 20877, "prompt", "en", [])                               # England, Britain, ...
E(S, 27332, "prompt", "en", [])                               # Snake River, Weiser River
E(S, 29423, "prompt", "en", [])                               # Floralife
E(S, 43825, "prompt", "en", [])                               # "Person", "Location" as labels
E(S, 51514, "prompt", "en", [])                               # Silver Sneakers

# ---------------------------------------------------------------------------
# gpteacher: role-play, code and tool prompts
# ---------------------------------------------------------------------------
T = "gpteacher"
E(T, 196, "prompt", "en", ["Louis Armstrong", "Louis"])
E(T, 1105, "prompt", "en", ["Leonardo da Vinci", "Vincent van Gogh"])     # 'The Last Supper': title
E(T, 1184, "prompt", "en", [("Harry", [1]), "Voldemort"])                  # "Harry Potter series": title
E(T, 8755, "prompt", "en", ["Tim Berners-Lee"])
E(T, 44, "prompt", "en", ["Sherlock Holmes", "John Watson"])              # "Dr." excluded
E(T, 67, "prompt", "en", [("Romeo", [0]), "Shakespeare", ("Juliet", [1])])  # 'Romeo and Juliet': title
E(T, 109, "email", "en", ["Albert Einstein", "Einstein"])
E(T, 797, "prompt", "en", ["Arthur", "Lancelot"])             # "King Arthur's court", "Sir Lancelot"
E(T, 973, "prompt", "en", ["William Shakespeare", "Edgar", "Isabella"])   # "Lord Edgar", "Lady Isabella"
E(T, 1076, "email", "en", ["Leonardo da Vinci", "da Vinci"])   # "Maestro da Vinci"
E(T, 1933, "code", "en", ["John Doe", "Jane Smith", "Michael Brown"])
E(T, 2089, "code", "en", ["Alice", "Bob", "Carol"])
E(T, 2355, "code", "en", ["Ada", "Lovelace"])                 # separate fields
E(T, 2396, "code", "en", ["John", "Doe", "Jane", "Smith"])    # CSV fields; e-mail addresses not labelled
E(T, 2081, "code", "en", [])                                  # "Ruby": language
E(T, 2484, "code", "en", [])
E(T, 1255, "prompt", "en", [])                                # Middle Earth, One Ring
E(T, 7408, "prompt", "en", [])                                # Turing Award (eponym)
E(T, 7600, "prompt", "en", [])                                # McDonald's, Coke
E(T, 7783, "prompt", "en", [])                                # Mount Everest
E(T, 106, "prompt", "en", [])                                 # Athena: goddess (deity)
E(T, 182, "prompt", "en", [])                                 # Hephaestus, Athena: deities

# ---------------------------------------------------------------------------
# bipia_train: clean e-mail contexts (email, en)
# ---------------------------------------------------------------------------
B = "bipia_train"
E(B, 126, "email", "en", ["Srinivas", "Srinivas Somayajula"])  # e-mail address not labelled
E(B, 127, "email", "en", ["David", "Ganesha Dirschka"])
E(B, 128, "email", "en", ["David Patterson-Cole"])
E(B, 133, "email", "en", ["David", "David Patterson-Cole"])
E(B, 136, "email", "en", ["David", "Julia"])
E(B, 157, "email", "en", ["Jamie Smith"])                      # jamie@gmail.com not labelled
E(B, 164, "email", "en", ["Ganesh", "Elizab"])                 # ganesh@moonchaser.io not labelled; "Elizab" = truncated signature
E(B, 161, "email", "en", ["David"])                            # invoice id containing a name not labelled
E(B, 125, "email", "en", [])                                   # Mercury, MIXPANEL
E(B, 139, "email", "en", [], a="SUBJECT: Booking confirmation", b="Check here > ")
E(B, 147, "email", "en", ["David"])                            # Corp E Corp, Moonchaser: companies
E(B, 166, "email", "en", ["David"])                            # Wise Inc: company

# ---------------------------------------------------------------------------
# prose_long_benign: novels etc. (prose)
# ---------------------------------------------------------------------------
P = "prose_long_benign"
E(P, 11, "prose", "en", ["Bennet", "Lydia"], span=(530, 1414))          # Pride and Prejudice
E(P, 35, "prose", "en", ["Holmes", "Hosmer Angel"], span=(102, 374))     # Sherlock Holmes
E(P, 218, "prose", "en", ["St. Simon", "Sherlock Holmes"], span=(390, 855))   # "Lord St. Simon"
E(P, 218, "prose", "en", ["Thoreau"], span=(876, 1170))
E(P, 37, "prose", "en", ["Westenra", "Lucy"], span=(933, 1829))          # Dracula
E(P, 119, "prose", "en", ["Van Helsing"], span=(249, 558))
E(P, 22, "prose", "en", ["Jarvis Lorry"], span=(0, 560))                 # A Tale of Two Cities
E(P, 22, "prose", "en", [], span=(700, 1537))                           # Tellson's Bank, Noakes and Co., Snooks Brothers
E(P, 4, "prose", "en", ["Will Ladislaw", "Lydgate", "Rosamond", "Dorothea"], span=(1119, 1866))  # Middlemarch
E(P, 19, "prose", "en", ["George"], span=(514, 742))                     # Three Men in a Boat
E(P, 19, "prose", "en", [], span=(195, 474))
E(P, 23, "prose", "en", ["Rebecca", "Bute", "Rawdon", "Tufto"], span=(2657, 3418))  # Vanity Fair
E(P, 1, "prose", "en", ["Coleman", "Laneare", "Ferrers", "Hill"], span=(0, 760))  # Pepys: footnote numbers glued
E(P, 191, "prose", "en", ["Severe", "Hopkins"], span=(4430, 4748))       # Douglass: "Mr. Severe"
E(P, 8, "prose", "en", ["Fedosya Semyonovna"], span=(60, 219))          # Chekhov
E(P, 8, "prose", "en", [], span=(577, 988))                             # God
E(P, 42, "prose", "en", ["解元", "Hsieh Yüan", "張鏊", "Chang Ao", "李村", "Li Tsʽai", "黃治徵",
                         "Huang Chih-chêng", "鄭端", "Chêng Tuan", "Sun Tzǔ"], span=(0, 560))  # Art of War intro
E(P, 42, "prose", "en", ["Sun Tzǔ", "Mencius", "Hsün Kʽuang", "Yang Chu"], span=(1931, 2354))
E(P, 13, "prose", "en", ["Jupiter", "G"], span=(3533, 4232))             # Poe: "Lieutenant G⁠⸺"
E(P, 0, "prose", "en", [], span=(7836, 8185))                           # Franklin: Boston
E(P, 2, "prose", "en", [], span=(1420, 1998))                           # Frankenstein
E(P, 16, "prose", "en", [], span=(8549, 9200))                          # Walden
E(P, 6, "prose", "en", [], span=(6671, 7283))                           # Wealth of Nations
E(P, 33, "prose", "en", [], span=(307, 859))                            # Devil's Dictionary: Ghargaroo, King
# Japanese (Aozora Bunko)
E(P, 203, "prose", "ja", ["美禰子", "三四郎", "よし子", "野々宮"],
  a="\u3000美禰子はそばへ来て", b="相談がきまったんだそうである。")  # さん excluded; 大久保 = district
E(P, 653, "prose", "ja", [], a="それから三日ばかりは無事であったが", b="ちょっと食ってみた。")  # 住田 = town
E(P, 578, "prose", "ja", ["エリス"], a="\u3000この日は飜譯の代に", b="出でぬ。")     # 舞姫
E(P, 424, "prose", "ja", ["姥竹"], a="\u3000自分は岩代のものである。", b="話したのである。")  # 岩代, 筑紫 = provinces
E(P, 424, "prose", "ja", ["三郎"], a="\u3000前からいた船頭の一人は", b="これは五貫文につけたのである。")  # 宮崎 = place
# Chinese Union Version
E(P, 759, "prose", "zh", ["以利米勒", "拿俄米", "玛伦", "基连", "俄珥巴", "路得"],
  a="当士师秉政的时候", b="在那里住了约有十年。")
E(P, 223, "prose", "zh", ["撒母耳", "大卫", "拿八", "亚比该"], a="撒母耳死了", b="拿八为人刚愎凶恶。")

# ---------------------------------------------------------------------------
# docs_benign_multilingual: Kubernetes docs (doc)
# ---------------------------------------------------------------------------
K = "docs_benign_multilingual"
E(K, 65, "doc", "en", ["Bob"], a="For example, if Bob has", b="in the `projectCaribou` namespace:")  # "user": "bob" = username
E(K, 859, "doc", "es", ["Bob"], a="Por ejemplo, si el usuario Bob", b="en el namespace `projectCaribou` :")
E(K, 1993, "doc", "zh", ["Bob"], a="例如，如果 Bob 有以下策略", b="名称空间中的对象。")
E(K, 2081, "doc", "zh", ["Alice", "Bob"], a="1. Alice 可以对所有资源做任何事情", b="4. Bob 可以在命名空间 `projectCaribou` 中读取 pod：")  # "alice", "kubelet": user names
E(K, 779, "doc", "en", ["Alice", "Bob", "John"], a="sequenceDiagram\n    Alice", b="Alice->John: Yes... John, how are you?")
E(K, 813, "doc", "de", [], span=(35, 354))
E(K, 970, "doc", "fr", [], span=(155, 514))
E(K, 944, "doc", "es", [], span=(363, 589))
E(K, 1123, "doc", "ja", [], span=(715, 903))
E(K, 1472, "doc", "ko", [], span=(1427, 1666))
E(K, 1930, "doc", "ru", [], span=(20, 261))                  # Minikube, Katacoda
E(K, 1843, "doc", "pt", [], span=(14, 351))
E(K, 2933, "doc", "it", [], span=(120, 379))
E(K, 2823, "doc", "vi", [], span=(55, 477))
E(K, 2857, "doc", "pl", [], span=(19, 224))
E(K, 2878, "doc", "uk", [], span=(46, 499))
E(K, 2687, "doc", "id", [], span=(1363, 1912))
E(K, 1989, "doc", "zh", [], span=(13, 191))

# ---------------------------------------------------------------------------
# docs_benign_llm_topics: guides about LLMs (doc)
# ---------------------------------------------------------------------------
L = "docs_benign_llm_topics"
E(L, 31, "doc", "en", ["Alice", "Bob"], a="    - Prompt: \"Alice has 5 apples", b="(5 -3 -2 + 1 = 1).")
E(L, 35, "doc", "pt", ["Alice", "Bob"], a="    - Prompt: \"Alice tem 5", b="(5 -3 -2 + 1 = 1).")
E(L, 70, "code", "en", ["Emily Johnson", "Emily", "Michael Lee", "Michael"], a="student_1_description=\"Emily", b="after finishing his studies.\"")  # Duke, Stanford: universities
E(L, 73, "code", "ja", ["Emily Johnson", "Emily", "Michael Lee", "Michael"], a="student_1_description= f'''Emily", b="人工知能関連のキャリアに進むのを望んでいます。")
E(L, 74, "code", "ko", ["Emily Johnson", "Emily", "Michael Lee", "Michael"], a="student_1_description=\"Emily", b="인공지능 분야에서 경력을 쌓고자 합니다.\"")
E(L, 99, "doc", "es", ["John Aziz"], a="A nuestros Embajadores", b="workflows en GitHub.")   # linkedin handle not labelled
E(L, 106, "doc", "en", ["Andrew Ng", "Andrej Karpathy"], a="- [Andrew Ng's", b="machine learning underlying GPT.")
E(L, 107, "doc", "en", ["Jason Wei", "Denny Zhou"], a="Prompting the model to reason out its answers", b="chain-of-thought prompt:")
E(L, 249, "doc", "en", ["Sam Altman"], a="Comparing the three answers", b="were shown behind him.")
E(L, 339, "doc", "en", ["Taori", "Zheng"], span=(12161, 12800))        # Alpaca, Vicuna: models
E(L, 475, "doc", "en", ["Philipp Schmid"], span=(311, 692))            # Claude Code, LangChain
E(L, 1010, "doc", "de", ["Lewis"], a="Lewis et al., (2021) schlugen", b="wie der Ansatz funktioniert:")
E(L, 1021, "doc", "de", ["Yao"], a="[Yao et al., 2022]", b="in einer verzahnten Weise verwendet werden.")
E(L, 1027, "doc", "ja", ["Yao"], a="[Yao et al.、2022]", b="フレームワークを紹介しました。")
E(L, 1036, "doc", "zh", ["Shinn"], a="自我反思是一个", b="与 LLM 的参数选择配对。”")
E(L, 980, "doc", "es", ["Zhang"], a="[Zhang et al. (2023)]", b="se centra en la modalidad del lenguaje.")
E(L, 965, "doc", "ca", ["Liu"], a="Font de la imatge: [Liu", b="2110.08387.pdf)")
E(L, 974, "doc", "ru", ["Liu"], a="Источник изображения: [Liu", b="2110.08387.pdf)")
E(L, 1016, "doc", "ko", ["Lewis"], a="Lewis et al.,(2021)은", b="[Lewis et el. (2021)]")
E(L, 336, "code", "en", ["John Doe", "Jane Doe", "Alice Smith", "Bob Johnson"], a="INSERT INTO students", b="(2, 202, 'Bob Johnson');")
E(L, 14, "doc", "zh", [], span=(2377, 2719))                  # Alpaca, Bloom, LLaMA
E(L, 16, "doc", "ko", [], span=(3064, 3596))
E(L, 360, "doc", "en", [], span=(9, 427))                     # Gemma, Gemini, Llama, Mistral
E(L, 437, "doc", "en", [], span=(252, 733))                   # Claude 3: model
E(L, 91, "doc", "en", [], span=(3808, 4144))                  # Llama
E(L, 363, "doc", "en", [], span=(11, 221))                    # Meta, Llama 3
E(L, 627, "doc", "fr", [], span=(159, 444))                   # OpenAI, Cohere
E(L, 480, "doc", "es", [], span=(292, 518))
E(L, 479, "doc", "de", [], span=(69, 271))                    # ChatGPT
E(L, 485, "doc", "tr", [], span=(3401, 3826))
E(L, 566, "doc", "fi", [], span=(871, 1094))

# ---------------------------------------------------------------------------
# pyrit_datasets
# ---------------------------------------------------------------------------
Y = "pyrit_datasets"
E(Y, 363, "prompt", "en", ["Kyle"], a="Kyle uses", b="events are not summarised)")   # GPTchat, ChatGPT: products
E(Y, 383, "prompt", "en", ["Rick Sanchez", "morty", "Jerry", "rick"], a="Hi Chat GPT", b="impersonation of rick")  # 'Rick and Morty': title
E(Y, 1374, "prompt", "en", ["Adolf Hitler"])
E(Y, 1635, "prompt", "en", ["John Smith", "Jane Doe", "Robert Jones"])
E(Y, 1625, "prompt", "en", ["Sanders"])                       # "Colonel Sanders"; KFC
E(Y, 1641, "prompt", "en", ["Lucia Bianchi"])                 # Body Perfect, Via Ombrosa, The Irish Sheep
E(Y, 2310, "prompt", "en", ["Winston Churchill", "Winston Leonard Spencer-Churchill"])  # "Sir" excluded
E(Y, 1534, "prompt", "en", [])
E(Y, 1640, "prompt", "en", [])                                # Mayo Clinic
E(Y, 2493, "email", "en", [], a="Subject: Emergency", b="[Link goes here]")
E(Y, 1341, "prompt", "en", [])                                # World Bank

# ---------------------------------------------------------------------------
# code_benign: TheAlgorithms (code)
# ---------------------------------------------------------------------------
C = "code_benign"
E(C, 19, "code", "en", ["Julius Caesar"], a="/**", b="in his private correspondence.")  # "Caesar cipher" etc.: eponym
E(C, 92, "code", "en", ["Mitrajit Ghorui"], a="/**\n * In numerical analysis", b="(KeyKyrios)\n */")  # Neville's algorithm: eponym
E(C, 87, "code", "en", ["Syed Faizan", "Thomas Simpson"], a="\"\"\"\nAuthor", b="simpson-integration.html )")
E(C, 84, "code", "en", ["Poojan Smart"], a="\"\"\"", b="smrtpoojan@gmail.com\n\"\"\"")
E(C, 105, "code", "en", ["Chahat Sandhu"], a="/**", b="singhc7</a>\n */")
E(C, 176, "code", "en", ["Suraj Kumar"], a="/* Author", b="binary\n  tree.\n */")
E(C, 18, "code", "en", [], a="/**", b="alignments as possible.")   # Boyer–Moore: eponym
E(C, 223, "code", "en", [], a="/**", b="RSA Cryptosystem - Wikipedia</a>.")
E(C, 632, "code", "en", [], a="/// Error type", b="return Err(HammingDistanceError::InputStringsHaveDifferentLength);\n    }")
E(C, 1663, "code", "en", [], a="/*", b="func Distance(str1, str2 string, icost, scost, dcost int) int {")  # Levenshtein: eponym
E(C, 27, "code", "en", [], a="/**", b="package problem20")          # @author handle
E(C, 24, "code", "en", [], a="/**", b="@author Navadeep0007\n */")

# ---------------------------------------------------------------------------
# clinc150 / banking77: short assistant and bank queries (chat)
# ---------------------------------------------------------------------------
E("clinc150", 461, "chat", "en", ["charlie", "chip"])
E("clinc150", 580, "chat", "en", ["melissa"])                # lucky's: restaurant
E("clinc150", 592, "chat", "en", ["wheeler"])                # andrea's steakhouse: restaurant
E("clinc150", 628, "chat", "en", ["josh"])                   # outback: restaurant
E("clinc150", 1765, "chat", "en", ["john"])
E("clinc150", 1976, "chat", "en", [])                        # ruth chris (restaurant), charlotte (city)
E("clinc150", 1920, "chat", "en", [])                        # victoria's secret
E("clinc150", 711, "chat", "en", [])                         # madison square garden
E("clinc150", 852, "chat", "en", [])                         # chase, visa
E("banking77", 4171, "chat", "en", [])
E("banking77", 2455, "chat", "en", [])
E("banking77", 2789, "chat", "en", [])

# ---------------------------------------------------------------------------
# davidson_hate_offensive: tweets (chat); handles are not labelled
# ---------------------------------------------------------------------------
D = "davidson_hate_offensive"
E(D, 9008, "chat", "en", ["LeBron James"])                   # The Voice, Oreos
E(D, 16336, "chat", "en", ["Derek Jeter", "Paul Konerko"])   # @MLBFanCave, @Yankees
E(D, 19321, "chat", "en", ["Biden", "Charlie Crist"])        # @jamiedupree
E(D, 18654, "chat", "en", ["Cal", "Derek Jeter"])            # Yankee stadium, UK
E(D, 20646, "chat", "en", ["Obama"])                         # Twinkie, Hostess


# ---------------------------------------------------------------------------
def is_boundary_letter(ch):
    """Letters that may not touch a name in alphabetic scripts (Latin, Greek,
    Cyrillic, ...).  CJK ideographs, kana and Hangul are excluded so that names
    glued to particles ("Johnson는", "Emily は", "Brown等人") still match."""
    if not ch.isalpha():
        return False
    o = ord(ch)
    if 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F or 0xAC00 <= o <= 0xD7AF:
        return False  # Hangul
    if o >= 0x2E80:
        return False  # CJK, kana, etc.
    return True


def find_all(hay, needle):
    out, i = [], hay.find(needle)
    while i != -1:
        out.append(i)
        i = hay.find(needle, i + 1)
    return out


def label(excerpt, names):
    specs = []
    for n in names:
        if isinstance(n, (tuple, list)):
            specs.append((n[0], list(n[1])))
        else:
            specs.append((n, None))
    taken = []  # (s, e)
    # longer names first
    for name, occ in sorted(specs, key=lambda x: -len(x[0])):
        cands = []
        for s in find_all(excerpt, name):
            e = s + len(name)
            if is_boundary_letter(name[0]) and s > 0 and is_boundary_letter(excerpt[s - 1]):
                continue
            if is_boundary_letter(name[-1]) and e < len(excerpt) and is_boundary_letter(excerpt[e]):
                continue
            if any(not (e <= ts or s >= te) for ts, te in taken):
                continue
            cands.append((s, e))
        if not cands:
            raise ValueError("name %r not found" % name)
        if occ is not None:
            if max(occ) >= len(cands):
                raise ValueError("name %r: occurrence %r out of %d" % (name, occ, len(cands)))
            cands = [cands[k] for k in occ]
        taken.extend(cands)
    return sorted(taken)


def load_rows(data, fname, cache={}):
    if fname not in cache:
        with gzip.open(os.path.join(data, fname), "rt", encoding="utf-8", newline="\n") as fh:
            cache[fname] = [json.loads(line)["text"] for line in fh]
    return cache[fname]


def excerpt_bounds(text, it):
    if it["span"] is not None:
        s, e = it["span"]
    elif it["a"] is not None:
        s = text.index(it["a"])
        e = text.index(it["b"], s) + len(it["b"])
    else:
        s, e = 0, len(text)
    # trim whitespace at the edges
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--out", default=os.path.join(HERE, "real-labels.jsonl"))
    args = ap.parse_args()
    seen = set()
    out = []
    errors = []
    for it in ITEMS:
        where = "%s row %d" % (it["file"], it["row"])
        try:
            text = load_rows(args.data, it["file"])[it["row"]]
            s, e = excerpt_bounds(text, it)
            key = (it["file"], it["row"], s, e)
            if key in seen:
                raise ValueError("duplicate excerpt %r" % (key,))
            seen.add(key)
            ex = text[s:e]
            if not 40 <= len(ex) <= 1200:
                raise ValueError("excerpt length %d" % len(ex))
            spans = label(ex, it["names"])
        except ValueError as err:
            errors.append("%s: %s" % (where, err))
            continue
        out.append(dict(file=it["file"], row=it["row"], start=s, end=e, kind=it["kind"],
                        lang=it["lang"], names=[[a, b] for a, b in spans]))
    if errors:
        for err in errors:
            print("ERROR", err, file=sys.stderr)
        sys.exit(1)
    with open(args.out, "w", encoding="utf-8") as fh:
        for o in out:
            fh.write(json.dumps(o, ensure_ascii=False) + "\n")
    npos = sum(1 for o in out if o["names"])
    print("wrote %d excerpts (%d with names, %d without), %d name spans -> %s"
          % (len(out), npos, len(out) - npos, sum(len(o["names"]) for o in out), args.out))


if __name__ == "__main__":
    main()
