import threadpoolctl

from nn_helpers import threads


def blas_thread_counts():
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_blas_threads_sets_one_thread_and_puts_it_back():
    before = blas_thread_counts()
    with threads.blas_threads(1):
        inside = blas_thread_counts()
        assert "1 thread" in threads.blas_info()
    assert inside and set(inside) == {1}
    assert blas_thread_counts() == before


def test_blas_threads_none_changes_nothing():
    before = blas_thread_counts()
    with threads.blas_threads(None):
        assert blas_thread_counts() == before


def test_cores_is_at_least_one():
    assert threads.cores() >= 1
