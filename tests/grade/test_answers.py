"""Written answers: right formulas in several spellings pass, the seeds' kind of wrong answers fail
with their diagnosis, and the evaluator refuses everything but arithmetic on the given names."""

from __future__ import annotations

import pytest

from nnbasics.grade.answers import QUESTIONS, UnsafeExpression, check_answers, evaluate

RIGHT = {
    "parameter_count": ["(Dx + 1) * H + (H + 1) * Dy", "Dx*H + H + H*Dy + Dy", "H*(Dx+1+Dy) + Dy"],
    "sigmoid_grad": ["s * (1 - s)", "s - s^2", "s - s**2"],
    "softmax_ce_grad": ["y_hat - y", "softmax(theta) - y",
                        "-(y - np.exp(theta) / sum(exp(theta)))"],
    "naive_softmax_grad_center": ["U.T @ (y_hat - y)", "np.dot(U.T, y_hat) - U.T @ y"],
    "naive_softmax_grad_outside": ["np.outer(y_hat - y, v_c)", "outer(y_hat, v_c) - outer(y, v_c)"],
    "neg_sampling_grad_center": [
        "(sigmoid(u_o @ v_c) - 1) * u_o + U_neg.T @ sigmoid(U_neg @ v_c)",
        "-(1 - sigmoid(dot(u_o, v_c))) * u_o + dot(1 - sigmoid(-(U_neg @ v_c)), U_neg)"],
    "neg_sampling_grad_outside": ["(sigmoid(u_o @ v_c) - 1) * v_c"],
    "neg_sampling_grad_negative": ["(1 - sigmoid(-u_k @ v_c)) * v_c"],
}
WRONG = [  # (question, answer, diagnosis)
    ("parameter_count", "H", "param-count-hidden-only"),  # the seeds' answer
    ("parameter_count", "Dx * H + H * Dy", "param-count-no-biases"),
    ("sigmoid_grad", "sigmoid(s) * (1 - sigmoid(s))", "sigmoid-grad-from-x"),
    ("softmax_ce_grad", "y - y_hat", "softmax-ce-grad-sign"),
    ("naive_softmax_grad_outside", "np.outer(v_c, y_hat - y)", "outside-grad-transposed"),
    ("neg_sampling_grad_center",
     "(sigmoid(u_o @ v_c) - 1) * u_o + U_neg.T @ sigmoid(-(U_neg @ v_c))", "neg-sampling-sign"),
    ("sigmoid_grad", "s * (1 + s)", "wrong-value"),
]


def _write(tmp_path, lines):
    path = tmp_path / "answers.txt"
    path.write_text("# answers\n" + "\n".join(lines) + "\n")
    return path


def test_every_question_has_right_answers_to_test():
    assert set(RIGHT) == set(QUESTIONS)


@pytest.mark.parametrize(("name", "answer"), [(n, a) for n, answers in RIGHT.items()
                                              for a in answers])
def test_right_answers_pass(tmp_path, name, answer):
    (result,) = check_answers(_write(tmp_path, [f"{name} = {answer}"]))
    assert (result.task, result.status, result.findings) == (f"answer_{name}", "pass", [])


@pytest.mark.parametrize(("name", "answer", "code"), WRONG)
def test_wrong_answers_fail_with_their_diagnosis(tmp_path, name, answer, code):
    (result,) = check_answers(_write(tmp_path, [f"{name} = {answer}"]))
    assert result.status == "fail"
    assert result.findings[0]["code"] == code
    assert result.findings[0]["expected"] is not None and result.findings[0]["input"]


@pytest.mark.parametrize("expression", [
    "__import__('os').system('true')", "open('/etc/passwd')", "s.__class__", "(lambda: 1)()",
    "[s for s in ()]", "np.load('x')", "s[0]", "2 ** 2 ** 2 ** 2 ** 2", "exp(s, out=s)",
    "getattr(s, 'T')", "s if s else s", "'text'",
])
def test_the_evaluator_refuses_anything_but_arithmetic(expression):
    with pytest.raises(UnsafeExpression):
        evaluate(expression, {"s": 0.5})


def test_unknown_questions_and_unreadable_answers_are_reported(tmp_path):
    results = check_answers(_write(tmp_path, ["favourite_colour = 3", "sigmoid_grad = s *"]))
    assert [(r.status, r.findings[0]["code"]) for r in results] == [
        ("error", "answer-unreadable"), ("fail", "answer-unreadable")]
