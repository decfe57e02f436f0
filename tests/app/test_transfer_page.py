"""Transfer learning page, the planner: the head found and replaced, counts equal the planner's (and analyze()'s
totals), freeze policies change what trains, and networks without a head get one sentence."""

from __future__ import annotations

from explorer.analysis import analyze
from explorer.transfer.planner import plan

from app_helpers import shown_errors

PAGE = "app_pages/transfer.py"


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_head_only_by_default_with_exact_counts_a_table_and_a_chart(open_page):
    at = open_page(PAGE, arch="resnet18")
    assert not at.exception and not at.error
    expected = plan("resnet18", {}, 10, "head")
    assert "`fc` (Linear 512 -> 1000) becomes a new Linear 512 -> 10" in at.markdown[1].value
    assert f"{expected.trainable_params:,} of {expected.total_params:,} · frozen {expected.frozen_params:,}" in captions(at)
    assert expected.trainable_params == 512 * 10 + 10
    assert expected.forward_macs == analyze("resnet18", num_classes=10).total_macs
    frame = at.dataframe[0].value
    assert list(frame["stage"])[-1] == "total" and list(frame["trainable"])[-1] == f"{expected.trainable_params:,}"
    assert len(at.get("plotly_chart")) == 1


def test_freezing_stages_and_nothing_changes_what_trains(open_page):
    at = open_page(PAGE, arch="resnet18")
    at.radio(key="widget:transfer.policy").set_value("stage").run()
    stage = at.slider(key="widget:transfer.stage").value
    expected = plan("resnet18", {}, 10, "stage", stage)
    assert f"{expected.trainable_params:,} of {expected.total_params:,} · frozen {expected.frozen_params:,}" in captions(at)
    at.radio(key="widget:transfer.policy").set_value("none").run()
    everything = plan("resnet18", {}, 10, "none")
    assert everything.frozen_params == 0
    assert f"{everything.backward_macs:,} (only through what trains)" in captions(at)
    at.number_input(key="widget:transfer.classes").set_value(5).run()
    assert "512 -> 5" in at.markdown[1].value


def test_networks_without_a_head_to_replace_say_so_in_one_sentence(open_page):
    at = open_page(PAGE, arch="lenet5_1998")
    assert not at.exception
    assert "no head to replace" in shown_errors(at)[0]
    at = open_page(PAGE, arch="residual_block")
    assert not at.exception and "not one score per class" in shown_errors(at)[0]


def test_the_digits_demo_runs_to_the_end_with_both_curves_and_says_what_it_measured(open_page):
    from explorer.transfer import demo
    from dataclasses import replace

    at = open_page(PAGE)
    at.session_state["transfer.tab"] = "Digits demo (offline)"
    at.run()
    at.number_input(key="widget:transfer.demo.epochs").set_value(4).run()
    at.button(key="widget:transfer.demo.run").click().run()
    assert not at.exception and not at.error
    record = at.session_state["transfer.demo"]
    assert record["done"] and len(record["frozen"]) == 4 and len(record["scratch"]) == 4
    expected = demo.run_demo(demo.DEFAULT_SAMPLES_PER_CLASS, replace(demo.DEFAULT_CONFIG, epochs=4))
    assert record["frozen"][-1].held_out_accuracy == expected.frozen.held_out_accuracy  # seeded: the same run
    verdict = at.info[0].value
    assert f"frozen {expected.frozen.held_out_accuracy:.1%}" in verdict
    assert f"scratch {expected.scratch.held_out_accuracy:.1%}" in verdict
    assert len(at.get("plotly_chart")) == 1


# ---------------------------------------------------------------------------------------------
# Your images: a dataset, a real training run on the sidebar's device, and what the fine-tuned model does


def your_images(open_page, arch: str = "lenet5", **query: str):
    at = open_page(PAGE, arch=arch, **query)
    at.session_state["transfer.tab"] = "Your images"
    return at.run()


def upload_zip(at, data: bytes, name: str = "digits.zip"):
    return at.file_uploader(key="widget:transfer.data.zip").set_value((name, data, "application/zip")).run()


def test_a_zip_trains_to_the_end_and_the_page_shows_what_the_seeded_run_computes(open_page):
    from helpers import digit_images, zip_of

    from explorer.transfer import job as jobs
    from explorer.transfer.data import read_image_folder_zip
    from explorer.transfer.finetune import TrainConfig, evaluate, fine_tune
    from explorer.transfer.planner import FreezePolicy
    from explorer.weights import WeightSource

    data = zip_of(digit_images((3, 7), 12), top="digits/")
    at = upload_zip(your_images(open_page), data)
    assert not at.exception and not at.error
    assert "**24 images in 2 classes**" in at.markdown[2].value
    assert list(at.dataframe[0].value["class"]) == ["seven", "three"]
    at.number_input(key="widget:transfer.epochs").set_value(3).run()
    assert "The multiply-accumulates of 3 epochs on 20 images alone take at least" in captions(at)[-2]
    at.button(key="widget:transfer.train").click().run()
    assert not at.exception and not at.error
    record = at.session_state["transfer.run"]
    assert record["done"] and len(record["epochs"]) == 3 and record["device"] == "cpu"

    # the same job run by the core: the page trained exactly this (seeded, same split, same weights)
    job = jobs.Job("lenet5", {}, WeightSource.BUNDLED, FreezePolicy.HEAD_ONLY, None, TrainConfig(epochs=3, batch_size=16))
    dataset = read_image_folder_zip(data, jobs.reading_side(job.recipe()))
    train, held = jobs.split(dataset, 0)
    prepared = jobs.prepare(jobs.estimate(job, 2, len(train), len(held)), train, held)
    history = fine_tune(prepared.model, prepared.train_x, prepared.train_y, prepared.held_x, prepared.held_y, job.train)
    assert [r.held_out_accuracy for r in record["epochs"]] == [r.held_out_accuracy for r in history.epochs]
    assert [r.train_loss for r in record["epochs"]] == [r.train_loss for r in history.epochs]
    evaluation = evaluate(prepared.model, prepared.held_x, prepared.held_y, prepared.classes)
    assert at.metric[0].value == f"{evaluation.accuracy:.1%}"
    per_class = at.dataframe[1].value
    assert list(per_class["class"]) == ["seven", "three"] and list(per_class["held out"]) == [2, 2]
    assert len(at.get("plotly_chart")) == 2  # the curves and the confusion matrix

    at.session_state["transfer.results.tab"] = "Download"
    at.run()
    code = at.code[0].value
    assert "model.classifier[4] = nn.Linear(model.classifier[4].in_features, 2" in code
    assert code.startswith("from safetensors.torch import load_file")


def test_classes_uploaded_one_by_one_train_like_a_zip(open_page):
    from helpers import digit_images

    at = your_images(open_page)
    at.radio(key="widget:transfer.data.mode").set_value("classes").run()
    assert "at least two classes with images are needed" in at.info[0].value
    images = digit_images((3, 7), 6)
    for number, (name, files) in enumerate(images.items(), 1):
        at.text_input(key=f"widget:transfer.data.class.{number}.name").input(name.title()).run()
        at.file_uploader(key=f"widget:transfer.data.class.{number}.files.0").set_value(
            [(file_name, data, "image/png") for file_name, data in files]).run()
    assert not at.exception and not at.error
    assert "**12 images in 2 classes**" in at.markdown[2].value
    assert list(at.dataframe[0].value["class"]) == ["Seven", "Three"]  # sorted, as a zip's folders are
    at.button(key="widget:transfer.data.add").click().run()
    assert len(at.session_state["transfer.data.classes"]) == 3  # a third, empty class: reported, left out
    at.number_input(key="widget:transfer.epochs").set_value(2).run()
    at.button(key="widget:transfer.train").click().run()
    assert not at.exception and not at.error
    record = at.session_state["transfer.run"]
    assert record["done"] and sorted(record["classes"]) == ["Seven", "Three"]
    at.button(key="widget:transfer.data.class.1.clear").click().run()
    assert at.session_state["transfer.data.classes"][0]["files"] == []


def test_a_bad_zip_is_one_sentence_and_the_other_way_in_stays_usable(open_page):
    at = upload_zip(your_images(open_page), b"this is not a zip", "notes.zip")
    assert not at.exception
    assert shown_errors(at) == ["This file is not a zip archive; zip a folder that holds one folder of images per "
                                "class."]
    at.radio(key="widget:transfer.data.mode").set_value("classes").run()
    assert not at.exception and not at.error


def test_a_run_beyond_the_time_limit_is_refused_before_it_starts(open_page, monkeypatch):
    from helpers import digit_images, zip_of

    from explorer import budget

    monkeypatch.setenv(budget.TRAINING_TIME_ENV, "1")
    at = upload_zip(your_images(open_page, "resnet18"), zip_of(digit_images((3, 7), 12)))
    assert not at.exception
    error = shown_errors(at)[0]
    assert error.startswith("Training ResNet-18 for 10 epochs on 20 images") and "limit of 1.0 s" in error
    assert all(button.key != "widget:transfer.train" for button in at.button)  # nothing to start


def test_class_names_are_shown_as_plain_text(open_page):
    from helpers import digit_images, zip_of

    images = digit_images((3, 7), 4)
    data = zip_of({"**bold** $x$": images["three"], "[link](http:__x)": images["seven"]})
    at = upload_zip(your_images(open_page), data)
    assert not at.exception and not at.error
    assert set(at.dataframe[0].value["class"]) == {"**bold** $x$", "[link](http:__x)"}
    shown = [c.value for c in at.caption]
    assert r"\*\*bold\*\* \$x\$" in shown and r"\[link\]\(http\:\_\_x\)" in shown


def test_training_settings_survive_hiding_and_the_run_uses_what_they_show(open_page):
    from helpers import digit_images, zip_of

    at = upload_zip(your_images(open_page), zip_of(digit_images((3, 7), 12)))
    at.radio(key="widget:transfer.policy").set_value("none").run()
    at.number_input(key="widget:transfer.epochs").set_value(2).run()
    at.number_input(key="widget:transfer.train.batch").set_value(5).run()
    at.number_input(key="widget:transfer.seed").set_value(7).run()
    at.select_slider(key="widget:transfer.lr").set_value(0.01).run()
    at.selectbox(key="widget:transfer.optimizer").set_value("sgd").run()
    for tab in ("Plan", "Digits demo (offline)", "Your images"):  # each hides the other tabs' widgets
        at.session_state["transfer.tab"] = tab
        at.run()
    assert not at.exception and not at.error
    assert at.radio(key="widget:transfer.policy").value == "none"
    assert at.number_input(key="widget:transfer.epochs").value == 2
    assert at.number_input(key="widget:transfer.train.batch").value == 5
    assert at.number_input(key="widget:transfer.seed").value == 7
    assert at.select_slider(key="widget:transfer.lr").value == 0.01
    assert at.selectbox(key="widget:transfer.optimizer").value == "sgd"
    assert "A training step at batch 5" in captions(at)[-2] and "2 epochs on" in captions(at)[-2]
    at.button(key="widget:transfer.train").click().run()
    assert not at.exception and not at.error
    job = at.session_state["transfer.run"]["job"]
    assert (job.policy, job.train.epochs, job.train.batch_size, job.train.seed, job.train.lr, job.train.optimizer) == \
        ("none", 2, 5, 7, 0.01, "sgd")
    assert at.session_state["transfer.run"]["frozen"] == 0


def test_cached_pretrained_weights_are_the_default_and_train(open_page, tmp_path, monkeypatch):
    import torch
    from helpers import digit_images, zip_of

    from explorer.weights import checkpoint_path, pretrained_weights
    from explorer.zoo import build

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = checkpoint_path(pretrained_weights("resnet18"))
    path.parent.mkdir(parents=True)
    torch.save(build("resnet18").state_dict(), path)  # as torchvision names it: no download
    at = upload_zip(your_images(open_page, "resnet18"), zip_of(digit_images((3, 7), 8)))
    assert at.radio(key="widget:transfer.weights.source.resnet18").value == "pretrained"
    assert all("Random weights" not in info.value for info in at.info)
    at.number_input(key="widget:transfer.epochs").set_value(1).run()
    at.button(key="widget:transfer.train").click().run()
    assert not at.exception and not at.error
    record = at.session_state["transfer.run"]
    assert record["done"] and "IMAGENET1K_V1" in record["description"]
    assert any("ResNet-18 from torchvision's pretrained weights" in c.value for c in at.caption)


def test_offline_pretrained_weights_say_so_and_point_to_the_demo(open_page, tmp_path, monkeypatch):
    from helpers import digit_images, zip_of

    from explorer.weights import pretrained_weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # nothing cached
    weights = pretrained_weights("resnet18")
    monkeypatch.setattr(type(weights), "url", property(lambda self: "http://127.0.0.1:9/resnet18-f37072fd.pth"))
    at = upload_zip(your_images(open_page, "resnet18"), zip_of(digit_images((3, 7), 8)))
    assert at.radio(key="widget:transfer.weights.source.resnet18").value == "random"  # not cached: not the default
    at.radio(key="widget:transfer.weights.source.resnet18").set_value("pretrained").run()
    assert not at.exception and not at.error
    assert any("could not be downloaded" in w.value for w in at.warning)
    assert any("the Digits demo tab shows transfer learning" in i.value for i in at.info)
    assert any(b.key == "widget:transfer.train" for b in at.button)  # random weights stay usable


def test_classes_keep_no_more_images_than_a_dataset_may_hold(open_page, monkeypatch):
    from helpers import digit_images

    from explorer.ui import finetune

    monkeypatch.setattr(finetune, "MAX_IMAGES", 5)
    at = your_images(open_page)
    at.radio(key="widget:transfer.data.mode").set_value("classes").run()
    files = digit_images((3,), 7)["three"]
    at.file_uploader(key="widget:transfer.data.class.1.files.0").set_value(
        [(name, data, "image/png") for name, data in files]).run()
    assert not at.exception
    assert len(at.session_state["transfer.data.classes"][0]["files"]) == 5
    assert any(w.value.startswith("2 files were not kept: all classes together hold at most 5 images")
               for w in at.warning)
