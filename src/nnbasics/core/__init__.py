"""The course core: the math of the assignments, in NumPy only.

Each public function's body is the formula its docstring states (``softmax`` is ``exp(x - max)``
divided by its sum); nothing here imports numba or a compiled kernel.  ``activations`` and
``losses`` hold the pieces, ``gradcheck`` the numerical gradient checker, ``layers`` the affine
forward/backward pair, ``initializers`` the weight initialisations, ``network`` the assignments'
one-hidden-layer network with its flat parameter vector, ``checks`` the registry behind
``nnbasics check``.
"""
