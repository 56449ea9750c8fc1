# ruff: noqa: E501, RUF001  (the annex text is kept exactly as the document has it)
"""The sandbox provider's catalog: the provider document's Annex 1 (countries and their
operators) and Annex 2 (services), kept as a literal copy of the annex text and parsed here.

A few services in Annex 2 have no name; they are named by their id. The annex gives country
names in English only; `COUNTRY_NAMES_RU` adds the Russian names the sandbox answers with
lang=ru (the document's own examples use "Россия" and "Украина"); others fall back to English.
"""

import re
from dataclasses import dataclass

# Copied verbatim from provider-api-doc.txt.
ANNEX_1 = """\
Annex 1. List of countries
ID
Наименование
Доступные операторы
0
Russia
aiva, any, beeline, center2m, danycom, ezmobile, lycamobile, matrix, megafon, motiv, mts, mtt, rostelecom, sber, simsim, tele2, tinkoff, ttk, winmobile, yota,
1
Ukraine
3mob, any, intertelecom, kyivstar, life, lycamobile, mts, utel, vodafone,
2
Kazakhstan
activ, altel, any, beeline, tele2,
3
China
any, chinamobile, unicom,
4
Philippines
any, globe_telecom, tm,
5
Myanmar
any, telenor,
6
Indonesia
any, axis, indosat, telkomsel, threeuk,
7
Malaysia
any, digi, hotlink, u_mobile,
8
Kenya
airtel, any, econet, orange, safaricom, telkom,
10
Vietnam
any, itelecom, mobifone, vietnamobile, viettel, vinaphone,
11
Kyrgyzstan
any, beeline, megacom, o!,
12
USA (virtual)
any, cellular, tmobile,
13
Israel
any, orange, pelephone,
14
Hong Kong
any, chinamobile, csl_mobile, imc, threeuk, unicom,
15
Poland
any, klucz, orange, play, tmobile,
16
England
any, cmlink, ee, ezmobile, lebara, lycamobile, o2, talk_telecom, threeuk, tmobile, vodafone,
17
Madagascar
any,
18
Dem. Congo
africel, airtel, any, orange, vodacom,
19
Nigeria
airtel, any, etisalat, glomobile, mtn,
20
Macau
any,
21
Egypt
any, etisalat, orange, vodafone,
22
India
any,
23
Ireland
any, lycamobile,
24
Cambodia
any,
25
Laos
any, etl, telekom, tplus, unitel,
26
Haiti
any, natcom,
27
Ivory coast
any, moov, mtn, orange,
28
Gambia
africel, any, comium, gamcel, qcell,
29
Serbia
any, mobtel, mts, vip,
30
Yemen
any, mtn, sabafon,
31
South Africa
any, vodacom,
32
Romania
any, digi, lycamobile, orange, telekom, vodafone,
33
Colombia
any,
34
Estonia
any, elisa, goodline, super, tele2, topconnect,
35
Azerbaijan
any, azerfon,
36
Canada (virtual)
any, cellular, lucky,
37
Morocco
any, inwi, itissalat, orange,
38
Ghana
airtel, any, glomobile, millicom, mtn, vodafone,
39
Argentina
any,
40
Uzbekistan
any, beeline, mts, ucell, uzmobile,
41
Cameroon
any, mtn, nexttel, orange,
42
Chad
airtel, any, salam, tigo,
43
Germany
any, fonic, lebara, lycamobile, o2, ortel_mobile, vodafone,
44
Lithuania
any, tele2, telia,
45
Croatia
any,
46
Sweden
any, comviq, lycamobile, tele2,
47
Iraq
any, asiacell, korek,
48
Netherlands
any, lebara, lycamobile,
49
Latvia
any, tele2,
50
Austria
any,
51
Belarus
any, life, mdc, mts,
52
Thailand
ais, any, truemove,
53
Saud. Arabia
any,
54
Mexico
any,
55
Taiwan
any, chunghwa, fareast,
56
Spain
any, lebara, lycamobile,
57
Iran
any, aptel, azartel, hamrah_e_aval, irancell, rightel, samantel, shatel, taliya,
58
Algeria
any,
59
Slovenia
any,
60
Bangladesh
any,
61
Senegal
any,
62
Turkey
any,
63
Czech Republic
any, tmobile,
64
Sri Lanka
any,
65
Peru
any,
66
Pakistan
any,
67
New Zealand
2degree, any, vodafone,
68
Guinea
any, cellcom, mtn, orange,
69
Mali
any, malitel, telecel,
70
Venezuela
any,
71
Ethiopia
any,
72
Mongolia
any, beeline,
73
Brazil
algartelecom, any, claro, correios_celular, oi, tim, vivo,
74
Afghanistan
any,
75
Uganda
airtel, any,
76
Angola
any,
77
Cyprus
any,
78
France
any, lebara, lycamobile, sfr, syma_mobile, vectone,
79
Papua New Guinea
any,
80
Mozambique
any,
81
Nepal
any,
82
Belgium
any,
83
Bulgaria
any,
84
Hungary
any,
85
Moldova
any, moldcell, orange, unite,
86
Italy
any,
87
Paraguay
any,
88
Honduras
any,
89
Tunisia
any,
90
Nicaragua
any,
91
Timor-Leste
any,
92
Bolivia
any,
93
Costa Rica
any,
94
Guatemala
any,
95
UAE
any,
96
Zimbabwe
any,
97
Puerto Rico
any,
98
Sudan
any,
99
That
any,
100
Kuwait
any,
101
Salvador
any,
103
Jamaica
any,
104
Trinidad and Tobago
any,
105
Ecuador
any,
108
Bosnia and Herzegovina
any,
111
Qatar
any,
113
Cuba
any,
116
Jordan
any,
117
Portugal
any,
122
Bahamas
any,
"""

ANNEX_2 = """\
Annex 2. Service list
ID
Наименование
vk
VK.com
ok
OK.ru
wa
vi
Viber
tg
Telegram
wb
go
Google,youtube,Gmail
av
avito
fb
tw
ub
Uber
qw
Qiwi
gt
Gett
sn
OLX
ig
ss
Hezzl
ym
Юла
ma
Mail.ru
mm
Microsoft
uk
Airbnb
me
Line messenger
mb
Yahoo
we
Drugvokrug.ru
bd
5ka.ru
kp
HQ Trivia
dt
Delivery Club
ya
Yandex
mt
Steam
oi
Tinder
fd
Mamba, MeetMe
zz
Dent
kt
KakaoTalk
pm
AOL
tn
Tencent QQ
mg
Magnit
pf
pof.com
yl
Yalla
kl
kolesa.kz
po
premium.one
nv
Naver
nf
Netflix
iq
icq
ob
Onlinerby
kb
kufarby
im
Imo
mc
Michat
ds
Discord
vv
Seosprint
ji
Monobank
lf
TikTok/Douyin
hu
Ukrnet
wg
Skout
rz
EasyPay
vf
Q12 Trivia
ny
Pyro Music
rr
Wolt
fe
CliQQ
la
ssoidnet
zh
Zoho
gp
Ticketmaster
am
Amazon
ly
Olacabs
tc
Rambler
dp
ProtonMail
pg
NRJ Music Awards
yf
Citymobil
op
MIRATORG
fx
PGbonus
qr
MEGA
yk
SportMaster
ls
Careem
bl
BIGO LIVE
mu
MyMusicTaste
fu
Snapchat
bf
Keybase
sg
OZON
uu
Wildberries
ua
BlaBlaCar
ab
Alibaba
iv
Inboxlv
zy
Nttgame
gd
Surveytime
fy
Mylove
ce
mosru
tl
Truecaller
hm
Globus
tx
Bolt
ka
Shopee
pl
Perekrestok.ru
ip
Burger King
cm
Prom
hw
AliPay
de
Karusel
jc
IVI
rl
inDriver
df
Happn
ui
RuTube
up
Magnolia
nz
Foodpanda
kf
ri
BillMill
cc
Quipp
lr
Okta
za
JDcom
da
MTS CashBack
ug
Fiqsy
sq
KuCoinPlay
zr
Papara
xv
Wish
cx
Icrypex
cw
PaddyPower
li
Baidu
dz
Dominos Pizza
xz
paycell
rd
Lenta
qb
Payberry
hz
Drom
gl
GlobalTel
zk
Deliveroo
ia
Socios
xl
Wmaraci
yi
Yemeksepeti
ew
Nike
ae
myGLO
gb
YouStar
cy
РСА
qm
RosaKhutor
dh
eBay
yb
Pay.kvartplata.ru+
qe
GG
yw
Grindr
uz
OffGamers
gx
Hepsiburadacom
re
Coinbase
tj
RADA NABU
ts
PayPal
rt
hily
sf
SneakersnStuff
sv
Dostavista
qi
32red
bz
Blizzard
db
ezbuy
vw
CoinField
zl
Airtel
wf
Airtel
lw
MrGreen
co
Rediffmail
ey
miloan
ge
Paytm
os
Dhani
ql
CMTcuzdan
cq
Mercado
xk
DiDi
py
Monese
rv
Kotak811
jl
Hopi
pr
Trendyol
pu
Justdating
dk
Pairs
fm
Touchance
ph
SnappFood
sw
NCsoft
nr
Tosla
hy
Ininal
tr
Paysend
pq
CDkeys
ff
AVON
sd
dodopizza
ry
McDonalds
le
E bike Gewinnspiel
hr
JKF
qa
MyFishka
wc
Craigslist
kw
Foody
jg
Grab
mj
Zalo
eu
LiveScore
ll
888casino
ed
Gamer
pp
Huya
th
WestStein
xr
Tango
iz
Global24
tk
МВидео
rx
Sheerid
ki
99app
my
CAIXA
zm
OfferUp
tq
Swvl
au
Haraj
ei
Taksheel
rp
hamrahaval
pa
Gamekit
fs
Şikayet var
ul
Getir
cf
irancell
bt
Alfa
ud
Disney Hotstar
qu
Agroinform
un
humblebundle
rm
Faberlic
uo
CafeBazaar
ti
cryptocom
nk
Gittigidiyor
jm
mzadqatar
lp
Algida
si
Cita Previa
fj
Potato Chat
pt
Bitaqaty
qc
Primaries 2020
yo
Amasia
ve
Dream11
qh
Oriflame
iu
Bykea
ib
Immowelt
zv
Digikala
jb
Wing Money
vn
Yaay
wn
GameArena
bj
Vita express
st
Auchan
ev
Picpay
qn
Blued
ot
Not on the list
"""


@dataclass(frozen=True, slots=True)
class CatalogCountry:
    id: int
    name: str  # English, as in the annex
    name_ru: str
    operators: tuple[str, ...]
    dial_code: str  # the country calling code
    mobile_prefix: str  # how national mobile numbers start ("" for any non-zero digit)
    national_digits: int  # digits after the calling code, prefix included


@dataclass(frozen=True, slots=True)
class CatalogService:
    id: str
    name: str


COUNTRY_NAMES_RU = {
    0: "Россия",
    1: "Украина",
    2: "Казахстан",
    3: "Китай",
    4: "Филиппины",
    5: "Мьянма",
    6: "Индонезия",
    7: "Малайзия",
    8: "Кения",
    10: "Вьетнам",
    11: "Киргизия",
    12: "США (виртуальные)",
    13: "Израиль",
    14: "Гонконг",
    15: "Польша",
    16: "Англия",
    19: "Нигерия",
    21: "Египет",
    22: "Индия",
    29: "Сербия",
    32: "Румыния",
    34: "Эстония",
    35: "Азербайджан",
    36: "Канада (виртуальные)",
    40: "Узбекистан",
    43: "Германия",
    44: "Литва",
    46: "Швеция",
    48: "Нидерланды",
    49: "Латвия",
    51: "Беларусь",
    52: "Таиланд",
    56: "Испания",
    62: "Турция",
    63: "Чехия",
    73: "Бразилия",
    78: "Франция",
    85: "Молдова",
    86: "Италия",
    117: "Португалия",
}

SERVICE_NAMES_RU = {"vk": "Вконтакте", "ok": "Одноклассники", "go": "Google, YouTube, Gmail"}

# Country id -> (calling code, mobile prefix, national digits). Plausible, not authoritative.
PHONE_FORMATS: dict[int, tuple[str, str, int]] = {
    0: ("7", "9", 10),
    1: ("380", "6", 9),
    2: ("7", "7", 10),
    3: ("86", "1", 11),
    4: ("63", "9", 10),
    5: ("95", "9", 9),
    6: ("62", "8", 11),
    7: ("60", "1", 9),
    8: ("254", "7", 9),
    10: ("84", "9", 9),
    11: ("996", "5", 9),
    12: ("1", "", 10),
    13: ("972", "5", 9),
    14: ("852", "9", 8),
    15: ("48", "5", 9),
    16: ("44", "7", 10),
    17: ("261", "3", 9),
    18: ("243", "8", 9),
    19: ("234", "8", 10),
    20: ("853", "6", 8),
    21: ("20", "1", 10),
    22: ("91", "9", 10),
    23: ("353", "8", 9),
    24: ("855", "9", 8),
    25: ("856", "20", 10),
    26: ("509", "3", 8),
    27: ("225", "07", 10),
    28: ("220", "7", 7),
    29: ("381", "6", 9),
    30: ("967", "7", 9),
    31: ("27", "7", 9),
    32: ("40", "7", 9),
    33: ("57", "3", 10),
    34: ("372", "5", 8),
    35: ("994", "5", 9),
    36: ("1", "", 10),
    37: ("212", "6", 9),
    38: ("233", "2", 9),
    39: ("54", "9", 11),
    40: ("998", "9", 9),
    41: ("237", "6", 9),
    42: ("235", "6", 8),
    43: ("49", "15", 11),
    44: ("370", "6", 8),
    45: ("385", "9", 9),
    46: ("46", "7", 9),
    47: ("964", "7", 10),
    48: ("31", "6", 9),
    49: ("371", "2", 8),
    50: ("43", "6", 10),
    51: ("375", "2", 9),
    52: ("66", "8", 9),
    53: ("966", "5", 9),
    54: ("52", "1", 10),
    55: ("886", "9", 9),
    56: ("34", "6", 9),
    57: ("98", "9", 10),
    58: ("213", "5", 9),
    59: ("386", "4", 8),
    60: ("880", "1", 10),
    61: ("221", "7", 9),
    62: ("90", "5", 10),
    63: ("420", "7", 9),
    64: ("94", "7", 9),
    65: ("51", "9", 9),
    66: ("92", "3", 10),
    67: ("64", "2", 9),
    68: ("224", "6", 9),
    69: ("223", "7", 8),
    70: ("58", "4", 10),
    71: ("251", "9", 9),
    72: ("976", "9", 8),
    73: ("55", "", 11),
    74: ("93", "7", 9),
    75: ("256", "7", 9),
    76: ("244", "9", 9),
    77: ("357", "9", 8),
    78: ("33", "6", 9),
    79: ("675", "7", 8),
    80: ("258", "8", 9),
    81: ("977", "98", 10),
    82: ("32", "4", 9),
    83: ("359", "8", 9),
    84: ("36", "3", 9),
    85: ("373", "6", 8),
    86: ("39", "3", 10),
    87: ("595", "9", 9),
    88: ("504", "9", 8),
    89: ("216", "2", 8),
    90: ("505", "8", 8),
    91: ("670", "7", 8),
    92: ("591", "7", 8),
    93: ("506", "8", 8),
    94: ("502", "5", 8),
    95: ("971", "5", 9),
    96: ("263", "7", 9),
    97: ("1", "787", 10),
    98: ("249", "9", 9),
    99: ("228", "9", 8),
    100: ("965", "6", 8),
    101: ("503", "7", 8),
    103: ("1", "876", 10),
    104: ("1", "868", 10),
    105: ("593", "9", 9),
    108: ("387", "6", 8),
    111: ("974", "3", 8),
    113: ("53", "5", 8),
    116: ("962", "7", 9),
    117: ("351", "9", 9),
    122: ("1", "242", 10),
}


def parse_countries(annex: str = ANNEX_1) -> tuple[CatalogCountry, ...]:
    """Annex 1: after the four header lines, triples of id, name and "op, op, ..., " lines."""
    lines = [line.strip() for line in annex.splitlines() if line.strip()][4:]
    if len(lines) % 3:
        raise ValueError("Annex 1 is not a list of (id, name, operators) triples.")
    countries = []
    for index in range(0, len(lines), 3):
        country_id, name, operators = int(lines[index]), lines[index + 1], lines[index + 2]
        dial_code, prefix, digits = PHONE_FORMATS[country_id]
        countries.append(
            CatalogCountry(
                id=country_id,
                name=name,
                name_ru=COUNTRY_NAMES_RU.get(country_id, name),
                operators=tuple(op.strip() for op in operators.split(",") if op.strip()),
                dial_code=dial_code,
                mobile_prefix=prefix,
                national_digits=digits,
            )
        )
    return tuple(countries)


_SERVICE_ID = re.compile(r"[a-z0-9]{2}")


def parse_services(annex: str = ANNEX_2) -> tuple[CatalogService, ...]:
    """Annex 2: after the three header lines, an id line followed by a name line, except
    that a few ids have no name (the next line is already the next id). No name in the annex
    is two lowercase letters, so a line like that is always an id."""
    lines = [line.strip() for line in annex.splitlines() if line.strip()][3:]
    services: list[CatalogService] = []
    index = 0
    while index < len(lines):
        service_id = lines[index]
        if not _SERVICE_ID.fullmatch(service_id):
            raise ValueError(f"Annex 2: expected a service id, found {service_id!r}.")
        following = lines[index + 1] if index + 1 < len(lines) else None
        if following is None or _SERVICE_ID.fullmatch(following):
            services.append(CatalogService(service_id, service_id))
            index += 1
        else:
            services.append(CatalogService(service_id, following))
            index += 2
    return tuple(services)


COUNTRIES: tuple[CatalogCountry, ...] = parse_countries()
SERVICES: tuple[CatalogService, ...] = parse_services()
COUNTRIES_BY_ID = {country.id: country for country in COUNTRIES}
SERVICES_BY_ID = {service.id: service for service in SERVICES}
