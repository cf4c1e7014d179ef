"""nbgrader configuration of the relaywidgets course (an nbgrader course directory; see README.md).

Run nbgrader from this directory (``cd notebooks/course``) or pass ``--CourseDirectory.root=notebooks/course``.
"""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "relaywidgets-course"
# The nbgrader defaults, written out so the layout is visible here: instructors edit source/, students
# receive release/, their work is collected into submitted/, graded into autograded/, returned from feedback/.
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# Solution regions become this stub in the student version.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
# A lesson is sized to run in well under a minute; a cell that takes this long is stuck.
c.Execute.timeout = 300
