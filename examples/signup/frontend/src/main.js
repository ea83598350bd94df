// signup's single-page app: a sign-up form at /, the confirmation page at /confirmed.
import "./style.css";

const root = document.querySelector("#app");

function el(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.textContent = text;
  return node;
}

function signupPage() {
  const form = el("form", { "aria-label": "sign up" });
  const email = el("input", { type: "email", name: "email", placeholder: "you@example.org", required: "" });
  const name = el("input", { type: "text", name: "name", placeholder: "Your name (optional)" });
  const button = el("button", { type: "submit" }, "Subscribe");
  const status = el("p", { class: "status", role: "status" });
  form.append(email, name, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.className = "status";
    status.textContent = "Sending…";
    const answer = await fetch("/api/subscribers", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: email.value, name: name.value }),
    });
    const body = await answer.json().catch(() => ({}));
    if (answer.ok) {
      status.textContent = `Check your inbox: we sent a confirmation link to ${body.email}.`;
      form.reset();
    } else {
      status.className = "status error";
      status.textContent = body.error || `Something went wrong (${answer.status}).`;
    }
  });
  root.replaceChildren(el("h1", {}, "Subscribe to the newsletter"), form, status);
}

async function confirmedPage() {
  const email = new URLSearchParams(window.location.search).get("email") || "";
  const heading = el("h1", {}, "Checking…");
  root.replaceChildren(heading);
  const answer = await fetch(`/api/subscribers/${encodeURIComponent(email)}`);
  const body = answer.ok ? await answer.json() : {};
  heading.textContent = body.confirmed ? "Subscription confirmed" : "Not confirmed yet";
  root.append(el("p", {}, body.confirmed ? `${body.email} will receive the newsletter.` : "Open the link in your mail."));
}

if (window.location.pathname === "/confirmed") confirmedPage();
else signupPage();
