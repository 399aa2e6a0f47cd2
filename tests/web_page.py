#!/usr/bin/env python3
"""web_page.py — drive a real headless Chromium through the marketplace page
of two connected nodes (tests/web_page.sh starts them).

Speaks the W3C WebDriver protocol to chromedriver over HTTP with the Python
standard library only (urllib + json). The scenario, as a person would do it:
open node A's page, post through the form (first with a mistake the page must
name), see the post on node B's page, search for it on B, edit it on A through
the edit form and see the new title on B, filter B's list by a place ("Near":
nearest first, a place far away, a bad radius), expire it on A, see it gone on
B; the German page; the node view. Screenshots at phone size
(390x844) and desktop size go to --out. Every wait is a poll with a deadline.

    web_page.py --a URL_A --b URL_B --out DIR [--chromedriver PATH]
                [--chromium PATH] [--deadline SECONDS]
    web_page.py --phase login --b URL_B --token-file B_DIR/http.token --out DIR
        B no longer trusts loopback (http/trust_loopback = off): a write through
        the form is refused with a page that says why; logging in with B's
        token at /login lets the form post.

Exit 0 when every check held, 1 with a message naming the first that did not.
"""
import argparse
import base64
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True                  # no __pycache__ in the source tree
import free_ports                               # noqa: E402 (tests/free_ports.py, beside this file)

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
PHONE = (390, 844)
DESKTOP = (1280, 900)


class Fail(Exception):
    pass


def free_port():
    """A port for chromedriver to bind (tests/free_ports.py: not port 0's
    pick, which any outgoing connection may take before chromedriver binds it)."""
    return free_ports.free_ports(1)[0]


class Driver:
    """A WebDriver session on one chromedriver process (started here)."""

    def __init__(self, chromedriver, chromium, profile, log_path):
        self.port = free_port()
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [chromedriver, "--port=%d" % self.port, "--allowed-ips=127.0.0.1"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        self.session = None
        end = time.monotonic() + 30
        while True:
            try:
                if self._call("GET", "/status").get("ready"):
                    break
            except (OSError, Fail):
                pass
            if time.monotonic() > end or self.proc.poll() is not None:
                raise Fail("chromedriver did not become ready (log: %s)" % log_path)
            time.sleep(0.05)
        args = ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check",
                "--user-data-dir=" + profile, "--window-size=%d,%d" % DESKTOP]
        if os.geteuid() == 0:
            args.append("--no-sandbox")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {"binary": chromium, "args": args}}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                reply = json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            reply = json.loads(e.read() or b"{}")
            value = reply.get("value", {})
            raise Fail("webdriver %s %s: %s: %s" % (method, path, value.get("error"),
                                                    str(value.get("message", ""))[:300]))
        return reply.get("value")

    def s(self, method, path, body=None):
        return self._call(method, "/session/%s%s" % (self.session, path), body)

    def close(self):
        try:
            if self.session:
                self._call("DELETE", "/session/" + self.session)
        except (OSError, Fail):
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    # ---- what a person does ----
    def go(self, url):
        self.s("POST", "/url", {"url": url})

    def url(self):
        return self.s("GET", "/url")

    def source(self):
        return self.s("GET", "/source")

    def text(self, css="body"):
        return self.s("GET", "/element/%s/text" % self.find(css))

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css):
        return [e[ELEMENT] for e in self.s("POST", "/elements", {"using": "css selector", "value": css})]

    def type(self, css, text):
        el = self.find(css)
        self.s("POST", "/element/%s/clear" % el, {})
        self.s("POST", "/element/%s/value" % el, {"text": text})

    def click(self, css):
        self.s("POST", "/element/%s/click" % self.find(css), {})

    def size(self, wh):
        self.s("POST", "/window/rect", {"width": wh[0], "height": wh[1]})

    def script(self, js):
        return self.s("POST", "/execute/sync", {"script": js, "args": []})

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.s("GET", "/screenshot")))


def wait_for(what, fn, deadline):
    """Poll fn() until it returns a true value; Fail after deadline seconds."""
    end = time.monotonic() + deadline
    last = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except Fail as e:
            last = e
        if time.monotonic() > end:
            raise Fail("waited %d s for %s%s" % (deadline, what, " (%s)" % last if last else ""))
        time.sleep(0.1)


def check(cond, what):
    if not cond:
        raise Fail(what)
    print("ok  " + what, flush=True)


def scenario(d, a, b, out, deadline):
    word = "webtest" + secrets.token_hex(3)
    # Markup and quotes in the title: shown as typed, never as elements.
    title = "Ladder <b>to</b> lend %s \"&'" % word
    shots = []

    def shot(name, wh):
        d.size(wh)
        path = os.path.join(out, "%s-%s.png" % (name, "phone" if wh == PHONE else "desktop"))
        d.screenshot(path)
        shots.append(path)

    def no_horizontal_scroll():
        return d.script("return document.documentElement.scrollWidth <= window.innerWidth")

    # Node A's page, at both sizes.
    d.size(DESKTOP)
    d.go(a + "/")
    check("Hearth" in d.text("header"), "A's page opens with its header")
    check(d.find_all("link[rel=stylesheet][href='/static/page.css']"), "the style sheet is the node's own")
    check(not d.find_all("a.login"), "a loopback browser may write: no login link")
    shot("a-home", DESKTOP)
    shot("a-home", PHONE)
    check(no_horizontal_scroll(), "no horizontal scroll at 390 px")

    # The form: a mistake first (a latitude without a longitude): named, values kept.
    d.go(a + "/new")
    d.click("select[name=category] option[value=offer]")
    d.type("#title", title)
    d.type("#body", "Aluminium, 3 m. Ring twice at the back door.")
    d.type("#tags", "tools, Garden")
    d.type("#label", "Hof 3")
    d.type("#lat", "52,52")
    d.click("form.post-form button[type=submit]")
    wait_for("the form's error", lambda: d.find_all(".field.bad"), deadline)
    check("Location: give both latitude and longitude" in d.text(".alert"), "the error names the location")
    check(d.s("GET", "/element/%s/property/value" % d.find("#title")) == title, "the title is kept")
    shot("a-form-error", PHONE)
    check(no_horizontal_scroll(), "no horizontal scroll on the form at 390 px")
    d.size((360, 740))
    check(no_horizontal_scroll(), "no horizontal scroll on the form at 360 px")
    d.type("#lng", "13.405")
    d.click("form.post-form button[type=submit]")
    post_url = wait_for("the redirect to the new post", lambda: "/post/" in d.url() and d.url(), deadline)
    post_id = urllib.parse.urlparse(post_url).path.split("/")[2]
    check(d.text("h1") == title, "the post's page shows it after the 303 (%s)" % post_id)
    check(not d.find_all("h1 b") and not d.find_all("main b"), "markup in the title stays text")
    check(d.find_all("form.expire"), "the author node offers the expire button")
    shot("a-post", PHONE)

    # Node B's page shows it once the mesh carried it.
    def b_lists():
        d.go(b + "/")
        return title in d.text("main")
    wait_for("the post on B's page", b_lists, deadline)
    check(True, "B's page lists the post")
    check("Hof 3" in d.text("main"), "B shows the location label")
    shot("b-home", PHONE)
    check(no_horizontal_scroll(), "no horizontal scroll on B at 390 px")
    d.size((360, 740))
    check(no_horizontal_scroll(), "no horizontal scroll on B at 360 px")
    shot("b-home", DESKTOP)

    # Search for it on B, through the search box.
    d.type("form.search input[name=q]", word)
    d.click("form.search button")
    wait_for("the search results", lambda: "/search" in d.url(), deadline)
    check(title in d.text("main"), "B's search finds it")
    shot("b-search", PHONE)
    # B's post page: not B's own post, so no expire button there.
    d.go(b + "/post/" + post_id)
    check(title in d.text("h1") and not d.find_all("form.expire"), "B shows the post without an expire button")

    # Edit it on A through the form (the title; the rest as it was), and see
    # the new title on B's page.
    d.size(PHONE)
    d.go(a + "/post/" + post_id)
    d.click("a.edit")
    wait_for("the edit form", lambda: d.find_all("form.edit-form"), deadline)
    check(d.s("GET", "/element/%s/property/value" % d.find("#title")) == title, "the edit form holds the title")
    check(d.s("GET", "/element/%s/property/value" % d.find("#label")) == "Hof 3", "the edit form holds the place")
    new_title = "Ladder (3 m) to lend %s" % word
    d.type("#title", new_title)
    shot("a-edit-form", PHONE)
    check(no_horizontal_scroll(), "no horizontal scroll on the edit form at 390 px")
    d.click("form.edit-form button[type=submit]")
    wait_for("the redirect to the edited post",
             lambda: "/edit" not in d.url() and d.find_all("h1") and d.text("h1") == new_title, deadline)
    check("edited" in d.text("main") and "1 edit" in d.text("main"), "A's post page says it was edited once")
    title = new_title

    def b_edited():
        d.go(b + "/")
        return new_title in d.text("main")
    wait_for("the new title on B's page", b_edited, deadline)
    check("edited" in d.text("main"), "B's card says the post was edited")

    # Near me on B: the form's "Near" fields, nearest first; a place far away
    # leaves the post out.
    check(not d.find_all("details.near[open]"), "the Near form is folded away until used")
    d.click("details.near summary")
    d.type("#near_lat", "52.521")
    d.type("#near_lng", "13.41")
    d.type("#radius_km", "5")
    d.click("#order option[value=distance]")
    d.click("form.near button[type=submit]")
    wait_for("the near-filtered list", lambda: "near_lat=" in d.url(), deadline)
    check(title in d.text("main") and d.find_all("span.dist"), "B lists the post with its distance")
    check("km away" in d.text("span.dist"), "the distance reads in km")
    d.script("document.querySelector('details.near').scrollIntoView()")
    shot("b-near", PHONE)
    check(no_horizontal_scroll(), "no horizontal scroll on the near list at 390 px")
    more = [e for e in d.find_all("nav.chips a")]
    check(more and "near_lat" in d.s("GET", "/element/%s/attribute/href" % more[1]), "the chips keep the place")
    d.type("#near_lat", "48.137")
    d.type("#near_lng", "11.575")
    d.click("form.near button[type=submit]")
    wait_for("the list near Munich", lambda: "near_lat=48.137" in d.url(), deadline)
    check(title not in d.text("main"), "a place far away leaves the post out")
    d.type("#radius_km", "-1")
    d.click("form.near button[type=submit]")
    wait_for("the radius error", lambda: d.find_all(".field.bad #radius_km"), deadline)
    check("greater than 0" in d.text("form.near"), "a bad radius is named beside its field")

    # Expire it on A.
    d.size(DESKTOP)
    d.go(a + "/post/" + post_id)
    d.click("form.expire option[value=fulfilled]")
    d.click("form.expire button[type=submit]")
    wait_for("the expired note on A", lambda: d.find_all("p.note"), deadline)
    check("expired" in d.text("p.note"), "A shows the post as expired")
    shot("a-expired", PHONE)

    def b_forgot():
        d.go(b + "/")
        return title not in d.text("main")
    wait_for("the post gone from B's page", b_forgot, deadline)
    check(True, "B no longer lists the post")
    d.go(b + "/post/" + post_id)
    check("expired" in d.text("main"), "B's post page says it expired")

    # German, and the node view with the peer.
    d.go(b + "/?lang=de")
    check("Neueste" in d.text("header") and d.find_all("html[lang=de]"), "the German page")
    check(d.find_all("a[href='/new?lang=de']"), "links keep the language")
    shot("b-home-de", PHONE)
    d.go(a + "/node")
    wait_for("A's node view with a connected peer", lambda: d.find_all("li.peer.up"), deadline)
    check("Peers" in d.text("main"), "A's node view lists its peers")
    shot("a-node", PHONE)
    check(no_horizontal_scroll(), "no horizontal scroll on the node view at 390 px")
    shot("a-node", DESKTOP)
    return shots


def login_scenario(d, b, token, out, deadline):
    """Node B no longer trusts loopback: a write is refused (403, saying why
    and where to log in); after logging in with B's token the form posts."""
    title = "Pump after login " + secrets.token_hex(3)
    shots = []
    d.size(PHONE)
    d.go(b + "/new")
    check(d.find_all("a.login"), "an untrusted browser sees the login link")
    check("cannot write to this node yet" in d.text("main"), "the form says it cannot write yet")

    def fill_and_send():
        d.click("select[name=category] option[value=request]")
        d.type("#title", title)
        d.type("#body", "For the cellar, one afternoon.")
        d.click("form.post-form button[type=submit]")
    fill_and_send()
    wait_for("the refusal", lambda: d.find_all("p.alert"), deadline)
    check("write token" in d.text("p.alert") and "/post/" not in d.url(), "the write is refused, saying why")
    path = os.path.join(out, "b-forbidden-phone.png")
    d.screenshot(path)
    shots.append(path)
    d.click("main a[href='/login']")
    wait_for("the login form", lambda: d.find_all("input[name=token]"), deadline)
    d.type("input[name=token]", token)
    d.click("form.login-form button[type=submit]")
    wait_for("the page after logging in", lambda: not d.find_all("input[name=token]"), deadline)
    check(not d.find_all("a.login"), "logged in: no login link any more")
    d.go(b + "/new")
    fill_and_send()
    wait_for("the redirect to the new post", lambda: "/post/" in d.url(), deadline)
    check(d.text("h1") == title, "after logging in the form posts")
    path = os.path.join(out, "b-post-after-login-phone.png")
    d.screenshot(path)
    shots.append(path)
    return shots


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--phase", choices=("mesh", "login"), default="mesh")
    ap.add_argument("--token-file", help="phase login: node B's DIR/http.token")
    ap.add_argument("--a")
    ap.add_argument("--b", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--deadline", type=int, default=30)
    opts = ap.parse_args()
    os.makedirs(opts.out, exist_ok=True)
    d = None
    try:
        d = Driver(opts.chromedriver, opts.chromium, os.path.join(opts.out, "profile-" + opts.phase),
                   os.path.join(opts.out, "chromedriver-%s.log" % opts.phase))
        if opts.phase == "login":
            with open(opts.token_file) as f:
                token = f.read().strip()
            shots = login_scenario(d, opts.b.rstrip("/"), token, opts.out, opts.deadline)
        else:
            shots = scenario(d, opts.a.rstrip("/"), opts.b.rstrip("/"), opts.out, opts.deadline)
        print("screenshots: " + " ".join(os.path.basename(s) for s in shots))
        return 0
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr)
        if d and d.session:
            try:
                d.screenshot(os.path.join(opts.out, "failure.png"))
                with open(os.path.join(opts.out, "failure.html"), "w") as f:
                    f.write(d.source())
            except (OSError, Fail):
                pass
        return 1
    finally:
        if d:
            d.close()


if __name__ == "__main__":
    sys.exit(main())
