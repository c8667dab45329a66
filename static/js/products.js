// The products of a video as a list: each one's colour (with several, chosen in a colour well), its
// name (edited in place: saved on Enter or when the field loses focus), a Remove button and a note;
// and a chooser that says which product the next click on a frame is for, or "a new product". The job
// page (confirm step) and the review page use it. The element's data-products-url is the products API
// (POST it to add; /<id> renames or recolours, /<id>/remove removes).
window.HL = window.HL || {};
HL.productPanel = function (root, options) {
  const url = root.dataset.productsUrl;
  const list = document.createElement("ul");
  list.className = "products";
  const error = document.createElement("p");
  error.className = "error products-error";
  root.append(list, error);
  let products = [];
  let selected = null;

  function row(id) { return list.querySelector(`li[data-product="${id}"]`); }

  function choose(id) {
    selected = id;
    list.querySelectorAll("li").forEach((li) => {
      li.classList.toggle("selected", li.dataset.product === id);
      const radio = li.querySelector("input[type=radio]");
      if (radio) radio.checked = li.dataset.product === id;
    });
    if (options.onChoose) options.onChoose(id);
  }

  async function send(path, body) {
    error.textContent = "";
    try {
      const result = await HL.postJSON(path, body);
      if (options.onChanged) options.onChanged(result);
      return result;
    } catch (err) {
      error.textContent = err.message;
      return null;
    }
  }

  function build(product) {
    const li = document.createElement("li");
    li.className = "product";
    li.dataset.product = product.id;
    const pick = document.createElement("label");
    pick.className = "pick";
    const radio = document.createElement("input");
    radio.type = "radio";
    radio.name = `${root.id}-product`;
    radio.value = product.id;
    radio.addEventListener("change", () => choose(product.id));
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    pick.append(radio, swatch);
    const name = document.createElement("input");
    name.type = "text";
    name.className = "product-name";
    name.maxLength = 200;
    name.setAttribute("aria-label", `Name of product ${product.id}`);
    name.addEventListener("focus", () => choose(product.id));
    const save = async () => {
      const current = products.find((p) => p.id === product.id);
      if (!current || name.value.trim() === current.name) return;
      const result = await send(`${url}/${product.id}`, { name: name.value });
      if (result) { current.name = result.product.name; name.value = current.name; }
      else name.value = current.name;
    };
    name.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); name.blur(); } });
    name.addEventListener("change", save);
    // Its colour (several products): the overlay here, and its outline, glow and label in renders.
    const colour = document.createElement("input");
    colour.type = "color";
    colour.className = "product-colour";
    colour.title = "Its colour here and in renders";
    colour.setAttribute("aria-label", `Colour of product ${product.id}`);
    colour.addEventListener("change", async () => {
      const current = products.find((p) => p.id === product.id);
      if (!current || colour.value === current.colour) return;
      const result = await send(`${url}/${product.id}`, { colour: colour.value });
      if (result) current.colour = result.product.colour;
      colour.value = current.colour;
      li.querySelector(".swatch").style.background = current.colour;
    });
    const note = document.createElement("span");
    note.className = "product-note hint";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove-product secondary small";
    remove.textContent = "Remove";
    remove.addEventListener("click", () => {
      const current = products.find((p) => p.id === product.id);
      if (window.confirm(`Remove ${current ? current.name : "this product"} from this video?`)) send(`${url}/${product.id}/remove`, {});
    });
    li.append(pick, name, colour, remove, note);
    return li;
  }

  // A row for "a new product": a click or box on a frame (options.addHint says where) adds one.
  const adder = document.createElement("li");
  adder.className = "product add-product";
  adder.dataset.product = "new";
  adder.innerHTML = '<label class="pick"><input type="radio"> <span class="plus">+</span></label><span class="add-label"></span>';
  adder.querySelector("input").name = `${root.id}-product`;
  adder.querySelector("input").addEventListener("change", () => choose("new"));
  adder.querySelector(".add-label").textContent = options.addLabel || "Add a product: click it or draw a box around it";
  adder.addEventListener("click", () => choose("new"));

  function update(next, note) {
    products = next.map((p) => ({ ...p }));
    const ids = new Set(products.map((p) => p.id));
    list.querySelectorAll("li.product:not(.add-product)").forEach((li) => { if (!ids.has(li.dataset.product)) li.remove(); });
    for (const product of products) {
      let li = row(product.id);
      if (!li) { li = build(product); list.append(li); }
      list.append(li); // in the products' order, the adder last
      li.querySelector(".swatch").style.background = product.colour;
      const colour = li.querySelector(".product-colour");
      if (document.activeElement !== colour) colour.value = product.colour;
      const name = li.querySelector(".product-name");
      if (document.activeElement !== name) name.value = product.name;
      li.querySelector(".remove-product").hidden = products.length < 2 || options.canRemove === false;
      li.querySelector(".product-note").textContent = note ? note(product) : "";
    }
    list.append(adder);
    adder.hidden = options.canAdd === false || products.length >= Number(root.dataset.max || 6);
    if (!selected || (selected !== "new" && !ids.has(selected)) || (selected === "new" && adder.hidden)) {
      choose(products.length ? products[0].id : null);
    } else {
      choose(selected);
    }
    root.classList.toggle("several", products.length > 1);
  }

  async function add(body) {
    const result = await send(url, body);
    if (result) choose(result.product.id);
    return result;
  }

  return {
    update,
    add,
    choose,
    selected: () => selected,
    product: (id) => products.find((p) => p.id === id),
    products: () => products,
    showError: (message) => { error.textContent = message; },
  };
};
